/* json-writer.h - the one JSON writer: events, status --json, isolation
 * show --json, pool list --json.  Not json-glib: linking it (with GObject
 * and GIO) costs the hook about 0.8 ms of start-up here, most of its
 * budget.  Commas are placed for the caller; strings are escaped once,
 * here. */
#pragma once

#include <glib.h>
#include <stdint.h>

typedef struct CnJson CnJson;

CnJson *cn_json_new(void);
void cn_json_free(CnJson *json);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnJson, cn_json_free)
/* The text so far; the writer is freed. */
char *cn_json_steal(CnJson *json);
/* The text so far; the writer keeps it. */
const char *cn_json_text(const CnJson *json);

void cn_json_begin_object(CnJson *json);
void cn_json_end_object(CnJson *json);
void cn_json_begin_array(CnJson *json);
void cn_json_end_array(CnJson *json);
/* In an object: the next value's key. */
void cn_json_key(CnJson *json, const char *key);
/* Values; a NULL string is null. */
void cn_json_string(CnJson *json, const char *value);
void cn_json_uint(CnJson *json, guint64 value);
void cn_json_bool(CnJson *json, gboolean value);
void cn_json_null(CnJson *json);
/* A value that is JSON already (made by another writer). */
void cn_json_raw(CnJson *json, const char *text);
/* KEY then the value, for the common cases. */
void cn_json_member_string(CnJson *json, const char *key, const char *value);
void cn_json_member_uint(CnJson *json, const char *key, guint64 value);
void cn_json_member_bool(CnJson *json, const char *key, gboolean value);

/* TEXT as a JSON string, quotes included, appended to OUT. */
void cn_json_append_string(GString *out, const char *text);
