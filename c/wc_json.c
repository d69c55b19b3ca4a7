/*
 * wc_json.c: a JSON reader for the metadata section, accepting exactly what Python's json.loads
 * accepts (docs/format.md, "Metadata").
 */
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wc_internal.h"

/* ----------------------------------------------------------------------- JSON */

/*
 * The metadata is read the way Python's json.loads reads it (UTF-8; NaN, Infinity and
 * -Infinity accepted as numbers; integers of any size up to 4300 digits; the last of
 * duplicate keys wins). The document is validated once; afterwards values are addressed by
 * their byte offset and navigated without building a tree, so no memory grows with it.
 */
int wci_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t k, len;
        unsigned char lo = 0x80, hi = 0xbf;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0) lo = 0xa0;
            if (c == 0xed) hi = 0x9f; /* no UTF-16 surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0) lo = 0x90;
            if (c == 0xf4) hi = 0x8f;
        } else {
            return 0;
        }
        if (n - i < len) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf) return 0;
        i += len;
    }
    return 1;
}

static size_t j_ws(const jdoc *d, size_t i)
{
    while (i < d->n && (d->s[i] == ' ' || d->s[i] == '\t' || d->s[i] == '\n' || d->s[i] == '\r')) i++;
    return i;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static int j_literal(const jdoc *d, size_t *i, const char *word)
{
    size_t len = strlen(word);
    if (d->n - *i < len || memcmp(d->s + *i, word, len) != 0) return 0;
    *i += len;
    return 1;
}

/* Validate the string at *i (a '"'); on success *i is past the closing quote. */
static int j_scan_string(const jdoc *d, size_t *i)
{
    size_t k = *i + 1;
    for (;;) {
        unsigned char c;
        if (k >= d->n) return 0;
        c = (unsigned char)d->s[k];
        if (c == '"') {
            *i = k + 1;
            return 1;
        }
        if (c < 0x20) return 0;
        if (c != '\\') {
            k++;
            continue;
        }
        if (k + 1 >= d->n) return 0;
        c = (unsigned char)d->s[k + 1];
        if (c == 'u') {
            int j;
            if (d->n - k < 6) return 0;
            for (j = 2; j < 6; j++)
                if (!is_hex(d->s[k + (size_t)j])) return 0;
            k += 6;
        } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
            k += 2;
        } else {
            return 0;
        }
    }
}

/* Validate the number at *i; *int_digits gets the integer part's length for integer tokens. */
static int j_scan_number(const jdoc *d, size_t *i, size_t *int_digits)
{
    size_t k = *i, first;
    int is_int = 1;
    if (k < d->n && d->s[k] == '-') {
        k++;
        if (k < d->n && d->s[k] == 'I') {
            if (!j_literal(d, &k, "Infinity")) return 0;
            *i = k;
            *int_digits = 0;
            return 1;
        }
    }
    first = k;
    if (k >= d->n || !is_digit(d->s[k])) return 0;
    if (d->s[k] == '0') {
        k++;
    } else {
        while (k < d->n && is_digit(d->s[k])) k++;
    }
    *int_digits = k - first;
    if (k < d->n && d->s[k] == '.') {
        k++;
        if (k >= d->n || !is_digit(d->s[k])) return 0;
        while (k < d->n && is_digit(d->s[k])) k++;
        is_int = 0;
    }
    if (k < d->n && (d->s[k] == 'e' || d->s[k] == 'E')) {
        k++;
        if (k < d->n && (d->s[k] == '+' || d->s[k] == '-')) k++;
        if (k >= d->n || !is_digit(d->s[k])) return 0;
        while (k < d->n && is_digit(d->s[k])) k++;
        is_int = 0;
    }
    if (!is_int) *int_digits = 0;
    *i = k;
    return 1;
}

/* Check the whole document; *root gets the top value's offset. NULL or the reason. */
const char *wcj_validate(const jdoc *d, size_t *root)
{
    char stack[JSON_MAX_DEPTH];
    size_t depth = 0, i, digits;
    enum { VALUE, KEY, AFTER } state = VALUE;
    if (!wci_utf8_valid((const unsigned char *)d->s, d->n)) return "it is not valid UTF-8";
    i = j_ws(d, 0);
    *root = i;
    for (;;) {
        if (state == VALUE) {
            char c;
            if (i >= d->n) return "it ends early";
            c = d->s[i];
            if (c == '{' || c == '[') {
                if (depth == JSON_MAX_DEPTH) return "it is nested too deeply";
                stack[depth++] = c;
                i = j_ws(d, i + 1);
                if (i < d->n && d->s[i] == (c == '{' ? '}' : ']')) {
                    depth--;
                    i++;
                    state = AFTER;
                } else {
                    state = c == '{' ? KEY : VALUE;
                }
                continue;
            }
            if (c == '"') {
                if (!j_scan_string(d, &i)) return "it holds an invalid string";
            } else if (c == '-' || is_digit(c)) {
                if (!j_scan_number(d, &i, &digits)) return "it holds an invalid number";
                if (digits > JSON_MAX_INT_DIGITS) return "it holds an integer of more than 4300 digits";
            } else if (!j_literal(d, &i, "true") && !j_literal(d, &i, "false") && !j_literal(d, &i, "null") &&
                       !j_literal(d, &i, "NaN") && !j_literal(d, &i, "Infinity")) {
                return "it holds an invalid value";
            }
            state = AFTER;
        } else if (state == KEY) {
            if (i >= d->n || d->s[i] != '"' || !j_scan_string(d, &i)) return "an object key is not a string";
            i = j_ws(d, i);
            if (i >= d->n || d->s[i] != ':') return "an object key lacks its ':'";
            i = j_ws(d, i + 1);
            state = VALUE;
        } else {
            char top;
            i = j_ws(d, i);
            if (depth == 0) return i == d->n ? NULL : "extra data follows the document";
            top = stack[depth - 1];
            if (i < d->n && d->s[i] == ',') {
                i = j_ws(d, i + 1);
                state = top == '{' ? KEY : VALUE;
            } else if (i < d->n && d->s[i] == (top == '{' ? '}' : ']')) {
                depth--;
                i++;
            } else {
                return "a ',' or a closing bracket is missing";
            }
        }
    }
}

int wcj_type(const jdoc *d, size_t i)
{
    switch (d->s[i]) {
    case '{': return J_OBJECT;
    case '[': return J_ARRAY;
    case '"': return J_STRING;
    case 't': return J_TRUE;
    case 'f': return J_FALSE;
    case 'n': return J_NULL;
    default: return J_NUMBER; /* digits, '-', NaN, Infinity */
    }
}

/* End offset of the (validated) value at i. */
size_t wcj_skip(const jdoc *d, size_t i)
{
    char c = d->s[i];
    if (c == '"') {
        i++;
        while (d->s[i] != '"') i += d->s[i] == '\\' ? 2 : 1;
        return i + 1;
    }
    if (c == '{' || c == '[') {
        size_t depth = 0;
        for (;;) {
            c = d->s[i];
            if (c == '"') {
                i = wcj_skip(d, i);
                continue;
            }
            if (c == '{' || c == '[') depth++;
            if (c == '}' || c == ']') {
                if (--depth == 0) return i + 1;
            }
            i++;
        }
    }
    while (i < d->n && (is_digit(d->s[i]) || strchr("+-.eEtruefalsnNaIiy", d->s[i]) != NULL) && d->s[i] != '\0') i++;
    return i;
}

/* First element (array) or key (object) of the container at i; 0 when it is empty. */
int wcj_first(const jdoc *d, size_t i, size_t *pos)
{
    size_t k = j_ws(d, i + 1);
    if (d->s[k] == ']' || d->s[k] == '}') return 0;
    *pos = k;
    return 1;
}

size_t wcj_member_value(const jdoc *d, size_t key)
{
    size_t k = j_ws(d, wcj_skip(d, key));
    return j_ws(d, k + 1);
}

/* Advance *pos to the next element or key; 0 at the end. */
int wcj_next(const jdoc *d, size_t *pos, int in_object)
{
    size_t k = in_object ? wcj_skip(d, wcj_member_value(d, *pos)) : wcj_skip(d, *pos);
    k = j_ws(d, k);
    if (d->s[k] != ',') return 0;
    *pos = j_ws(d, k + 1);
    return 1;
}

size_t wcj_count(const jdoc *d, size_t i)
{
    size_t n = 0, pos;
    int more = wcj_first(d, i, &pos);
    while (more) {
        n++;
        more = wcj_next(d, &pos, d->s[i] == '{');
    }
    return n;
}

static unsigned hex_value(char c)
{
    if (c >= '0' && c <= '9') return (unsigned)(c - '0');
    if (c >= 'a' && c <= 'f') return (unsigned)(c - 'a' + 10);
    return (unsigned)(c - 'A' + 10);
}

static unsigned j_hex4(const char *p)
{
    return hex_value(p[0]) << 12 | hex_value(p[1]) << 8 | hex_value(p[2]) << 4 | hex_value(p[3]);
}

static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/*
 * Decode the string at i into out (room for its token length); returns the byte length. An
 * unpaired \uD800-\uDFFF escape is kept as its 3-byte form and flagged in *lone (Python keeps
 * such strings but cannot encode them to UTF-8).
 */
size_t wcj_string(const jdoc *d, size_t i, char *out, int *lone)
{
    size_t o = 0;
    if (lone) *lone = 0;
    i++;
    while (d->s[i] != '"') {
        char c = d->s[i];
        if (c != '\\') {
            out[o++] = c;
            i++;
            continue;
        }
        c = d->s[i + 1];
        if (c == 'u') {
            unsigned long cp = j_hex4(d->s + i + 2);
            i += 6;
            if (cp >= 0xd800 && cp <= 0xdbff && d->s[i] == '\\' && d->s[i + 1] == 'u') {
                unsigned long low = j_hex4(d->s + i + 2);
                if (low >= 0xdc00 && low <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                    i += 6;
                }
            }
            if (cp >= 0xd800 && cp <= 0xdfff && lone) *lone = 1;
            o += put_utf8(out + o, cp);
            continue;
        }
        switch (c) {
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        default: out[o++] = c; break; /* " \ / */
        }
        i += 2;
    }
    return o;
}

/* Does the string at i decode to exactly (key, n)? Keys compared here are short. */
int wcj_string_is(const jdoc *d, size_t i, const char *key, size_t n)
{
    char buf[128];
    size_t end = wcj_skip(d, i), len;
    if (end - i - 2 == n && memchr(d->s + i + 1, '\\', n) == NULL) return memcmp(d->s + i + 1, key, n) == 0;
    if (end - i > sizeof buf) return 0; /* decodes to more than 127 bytes: not one of our keys */
    len = wcj_string(d, i, buf, NULL);
    return len == n && memcmp(buf, key, n) == 0;
}

/* The value of the last member named key of the object at i (Python keeps the last). */
int wcj_get(const jdoc *d, size_t obj, const char *key, size_t *value)
{
    size_t pos;
    int found = 0, more = wcj_first(d, obj, &pos);
    while (more) {
        if (wcj_string_is(d, pos, key, strlen(key))) {
            *value = wcj_member_value(d, pos);
            found = 1;
        }
        more = wcj_next(d, &pos, 1);
    }
    return found;
}

double wci_parse_double(const char *s, size_t n, int *ok)
{
    char small[64], *buf = small, *end;
    double v;
    const char *point = localeconv()->decimal_point;
    size_t k;
    *ok = 1;
    if (n >= sizeof small) {
        buf = (char *)malloc(n + 1);
        if (!buf) {
            *ok = 0;
            return 0.0;
        }
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (point && point[0] && point[0] != '.' && point[1] == '\0') /* strtod follows the C locale's point */
        for (k = 0; k < n; k++)
            if (buf[k] == '.') buf[k] = point[0];
    v = strtod(buf, &end);
    if (end != buf + n) *ok = 0;
    if (buf != small) free(buf);
    return v;
}

/* Number facts of the (validated) number token at i; 0 when out of memory. */
int wcj_number(const jdoc *d, size_t i, jnum *num)
{
    size_t end = wcj_skip(d, i), k;
    const char *s = d->s + i;
    int ok;
    memset(num, 0, sizeof *num);
    num->start = i;
    num->len = end - i;
    if (s[0] == 'N') {
        num->value = NAN;
        return 1;
    }
    if (s[0] == 'I' || (s[0] == '-' && s[1] == 'I')) {
        num->value = s[0] == '-' ? -INFINITY : INFINITY;
        return 1;
    }
    num->is_int =
        memchr(s, '.', num->len) == NULL && memchr(s, 'e', num->len) == NULL && memchr(s, 'E', num->len) == NULL;
    num->value = wci_parse_double(s, num->len, &ok);
    if (!ok) return 0;
    if (!num->is_int) return 1;
    num->negative = s[0] == '-';
    for (k = (size_t)num->negative; k < num->len; k++) {
        uint64_t digit = (uint64_t)(s[k] - '0');
        if (num->magnitude > (UINT64_MAX - digit) / 10u) num->big = 1;
        if (!num->big) num->magnitude = num->magnitude * 10u + digit;
    }
    if (num->magnitude == 0) num->negative = 0;
    num->overflow = !isfinite(num->value);
    return 1;
}

/* Is the number an integer token within [low, high] (both >= 0 or using the sign)? */
int wcj_int_range(const jnum *num, int64_t low, uint64_t high)
{
    if (!num->is_int || num->big) return 0;
    if (num->negative) return low < 0 && num->magnitude <= (uint64_t)(-(low + 1)) + 1u;
    return (low <= 0 || num->magnitude >= (uint64_t)low) && num->magnitude <= high;
}

int64_t wcj_int64(const jnum *num)
{
    if (num->negative) return num->magnitude == (uint64_t)1 << 63 ? INT64_MIN : -(int64_t)num->magnitude;
    return (int64_t)num->magnitude;
}

/* Does the subtree at i hold a non-finite float (Python's json.dumps(allow_nan=False) fails)? */
int wcj_has_nonfinite(const jdoc *d, size_t i, int *oom)
{
    size_t end = wcj_skip(d, i);
    while (i < end) {
        char c = d->s[i];
        if (c == '"') {
            i = wcj_skip(d, i);
            continue;
        }
        if (c == '-' || is_digit(c) || c == 'N' || c == 'I') {
            jnum num;
            if (!wcj_number(d, i, &num)) {
                *oom = 1;
                return 1;
            }
            if (!num.is_int && !isfinite(num.value)) return 1;
            i += num.len;
            continue;
        }
        i++;
    }
    return 0;
}

/* The integer member key of the object at root, within [low, high]; 0 when absent or not. */
int wcj_int_member(const jdoc *d, size_t root, const char *key, int64_t low, int64_t high, int64_t *out)
{
    size_t v;
    jnum num;
    if (!wcj_get(d, root, key, &v) || wcj_type(d, v) != J_NUMBER || !wcj_number(d, v, &num)) return 0;
    if (!wcj_int_range(&num, low, (uint64_t)high)) return 0;
    *out = wcj_int64(&num);
    return 1;
}
