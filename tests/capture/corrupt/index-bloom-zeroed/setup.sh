# every name bloom zeroed: -F name== would prune every frame away
sqlite3 "$1/index.sqlite" "UPDATE frames SET name_bloom = zeroblob(length(name_bloom))"
