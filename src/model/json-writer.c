/* json-writer.c - see json-writer.h */
#include "json-writer.h"

struct CnJson {
    GString *text;
    GArray *first; /* gboolean per open object or array: no member yet */
    gboolean after_key;
};

CnJson *cn_json_new(void)
{
    CnJson *json = g_new0(CnJson, 1);
    json->text = g_string_new(NULL);
    json->first = g_array_new(FALSE, FALSE, sizeof(gboolean));
    return json;
}

void cn_json_free(CnJson *json)
{
    if (!json)
        return;
    g_string_free(json->text, TRUE);
    g_array_unref(json->first);
    g_free(json);
}

char *cn_json_steal(CnJson *json)
{
    char *text = g_string_free(json->text, FALSE);
    g_array_unref(json->first);
    g_free(json);
    return text;
}

const char *cn_json_text(const CnJson *json)
{
    return json->text->str;
}

void cn_json_append_string(GString *out, const char *text)
{
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            g_string_append_printf(out, "\\%c", *p);
        else if (*p < 0x20)
            g_string_append_printf(out, "\\u%04x", *p);
        else
            g_string_append_c(out, (char)*p);
    }
    g_string_append_c(out, '"');
}

/* Before a value (or a key): the comma, unless it is the first. */
static void separate(CnJson *json)
{
    if (json->after_key) {
        json->after_key = FALSE;
        return;
    }
    if (json->first->len == 0)
        return;
    gboolean *first = &g_array_index(json->first, gboolean, json->first->len - 1);
    if (!*first)
        g_string_append_c(json->text, ',');
    *first = FALSE;
}

static void open_container(CnJson *json, char bracket)
{
    separate(json);
    g_string_append_c(json->text, bracket);
    gboolean first = TRUE;
    g_array_append_val(json->first, first);
}

static void close_container(CnJson *json, char bracket)
{
    g_string_append_c(json->text, bracket);
    if (json->first->len)
        g_array_set_size(json->first, json->first->len - 1);
}

void cn_json_begin_object(CnJson *json)
{
    open_container(json, '{');
}

void cn_json_end_object(CnJson *json)
{
    close_container(json, '}');
}

void cn_json_begin_array(CnJson *json)
{
    open_container(json, '[');
}

void cn_json_end_array(CnJson *json)
{
    close_container(json, ']');
}

void cn_json_key(CnJson *json, const char *key)
{
    separate(json);
    cn_json_append_string(json->text, key);
    g_string_append_c(json->text, ':');
    json->after_key = TRUE;
}

void cn_json_string(CnJson *json, const char *value)
{
    separate(json);
    if (value)
        cn_json_append_string(json->text, value);
    else
        g_string_append(json->text, "null");
}

void cn_json_uint(CnJson *json, guint64 value)
{
    separate(json);
    g_string_append_printf(json->text, "%" G_GUINT64_FORMAT, value);
}

void cn_json_bool(CnJson *json, gboolean value)
{
    separate(json);
    g_string_append(json->text, value ? "true" : "false");
}

void cn_json_null(CnJson *json)
{
    separate(json);
    g_string_append(json->text, "null");
}

void cn_json_raw(CnJson *json, const char *text)
{
    separate(json);
    g_string_append(json->text, text);
}

void cn_json_member_string(CnJson *json, const char *key, const char *value)
{
    cn_json_key(json, key);
    cn_json_string(json, value);
}

void cn_json_member_uint(CnJson *json, const char *key, guint64 value)
{
    cn_json_key(json, key);
    cn_json_uint(json, value);
}

void cn_json_member_bool(CnJson *json, const char *key, gboolean value)
{
    cn_json_key(json, key);
    cn_json_bool(json, value);
}
