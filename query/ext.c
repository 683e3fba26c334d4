/* SQLite loadable extension: `.load PATH/libdnsreel` in the sqlite3 shell opened on
 * CAPTURE.reel/index.sqlite gives the dns, answers and pods tables of that capture. */
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include "query_int.h"

__attribute__((visibility("default"))) int sqlite3_dnsreel_init(sqlite3 *db, char **pzErrMsg,
								const sqlite3_api_routines *pApi)
{
	int rc;

	SQLITE_EXTENSION_INIT2(pApi);
	rc = dnsreel_q_ext_check_schema(db, pzErrMsg);
	if (rc != SQLITE_OK)
		return rc;
	rc = dnsreel_query_register_lazy(db);
	if (rc != SQLITE_OK && pzErrMsg)
		*pzErrMsg =
		    sqlite3_mprintf("dnsreel: cannot register tables (%s)", sqlite3_errstr(rc));
	return rc;
}
