/*
 * wc_internal.h: what the reader's source files share (not part of the API; see widecross.h).
 * Internal functions are prefixed wci_ (wcj_ for the JSON reader) to stay out of the way of
 * programs that embed the reader.
 */
#ifndef WC_INTERNAL_H
#define WC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "widecross.h"

/* ----------------------------------------------------------------------- constants */

#define PREAMBLE_SIZE 16u
#define ENTRY_SIZE 16u
#define N_SECTIONS 3u
#define HEADER_SIZE (PREAMBLE_SIZE + ENTRY_SIZE * N_SECTIONS + 4u) /* 68 */
#define MAX_SECTIONS 64u
#define MAX_META_BYTES ((uint64_t)64 << 20)
#define ZLIB_MAX_RATIO 1032u
#define JSON_MAX_DEPTH 512
#define JSON_MAX_INT_DIGITS 4300 /* CPython's int_max_str_digits */
#define INT64_MAX_U ((uint64_t)INT64_MAX)
#define MAX_BUCKETS ((int64_t)1 << 62)

/* Hashing (docs/format.md, "Hashing"). */
#define GOLDEN UINT64_C(0x9E3779B97F4A7C15)
#define FNV_OFFSET UINT64_C(0xCBF29CE484222325)
#define FNV_PRIME UINT64_C(0x100000001B3)
#define INT_TAG UINT64_C(0x9E3779B97F4A7C15)
#define STR_TAG UINT64_C(0xC2B2AE3D27D4EB4F)
#define MISSING_TAG UINT64_C(0x165667B19E3779F9)

enum { LOSS_LOGISTIC, LOSS_HINGE, LOSS_SQUARED, LOSS_POISSON };
extern const char *const wci_loss_names[4]; /* "logistic", ... in LOSS_* order */
enum { ENC_FLOAT32, ENC_FLOAT16, ENC_Q8 };
enum { COMP_UNIFORM, COMP_EDGES, COMP_CATEGORICAL };
enum { POLICY_ERROR, POLICY_CLIP, POLICY_BUCKET };
enum { VOCAB_EMPTY, VOCAB_TEXT, VOCAB_INT, VOCAB_BIG };

/* ----------------------------------------------------------------------- the model */

typedef struct {
    uint64_t hash;
    int type; /* VOCAB_* */
    int64_t integer;
    const char *text; /* VOCAB_TEXT: the string; VOCAB_BIG: the integer's JSON text */
    size_t length;
    int64_t id;
} vocab_entry;

typedef struct {
    int kind;
    size_t column;
    int policy; /* out_of_range of a Bucketize, unknown of a Categorical */
    int wrap;
    int64_t n_buckets; /* Bucketize buckets; Categorical hash buckets (0: none) */
    int64_t size;      /* number of ids; -1: the unbounded 64-bit hash */
    double start, stop, scale;
    double *edges;      /* COMP_EDGES: n_buckets + 1 boundaries */
    int64_t vocab_len;  /* -1 without a vocabulary */
    vocab_entry *vocab; /* open addressing, vocab_mask + 1 slots */
    size_t vocab_mask;
    const char *name; /* the feature name and the column name, for messages */
    size_t name_len;
    const char *column_name;
    size_t column_name_len;
} component;

typedef struct {
    uint64_t base; /* exact: first column; hashed: the seeded hash base */
    size_t first_slot, n_slots;
    const char *name;
    size_t name_len;
} feature;

/* A stored weight and its column id side by side: a look-up finds the weight in the id's cache line. */
typedef struct {
    uint32_t id;
    float weight;
} wci_entry;

struct wc_model {
    uint64_t n_features, nnz;
    double intercept;
    int loss;
    wci_entry *entries; /* the weights of a model of up to 2**32 columns */
    uint64_t *ids64;    /* or, wider, the column ids */
    float *values;      /* and the weights */
    uint32_t *directory;
    unsigned shift;
    /* the feature spec */
    int has_spec;
    int bits; /* 0: exact indexing */
    size_t n_columns;
    const char **column_name;
    size_t *column_len;
    unsigned *column_flags;
    size_t n_components;
    component *components;
    size_t n_feats;
    feature *feats;
    size_t n_slots;
    size_t *slot_comp;
    int64_t *slot_radix;
    char *arena; /* every string of the spec, NUL-terminated */
    size_t arena_used, arena_size;
    int arena_full;
    size_t bytes;
};

/* ----------------------------------------------------------------------- JSON values */

typedef struct {
    const char *s;
    size_t n;
} jdoc;

enum { J_NULL, J_FALSE, J_TRUE, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

typedef struct {
    int is_int;   /* an integer token (no fraction, no exponent) */
    int negative; /* is_int: the sign (-0 is 0) */
    int big;      /* is_int: the magnitude does not fit 64 bits */
    uint64_t magnitude;
    double value;      /* the float value (Python's float() of it) */
    int overflow;      /* is_int: float() of it would raise OverflowError */
    size_t start, len; /* the token */
} jnum;

/* ----------------------------------------------------------------------- byte and hash helpers */

static inline uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static inline uint64_t fnv1a64(const char *s, size_t n)
{
    uint64_t h = FNV_OFFSET;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * FNV_PRIME;
    return h;
}

static inline uint64_t wci_id(const wc_model *m, size_t i) { return m->entries ? m->entries[i].id : m->ids64[i]; }

static inline float wci_weight(const wc_model *m, size_t i) { return m->entries ? m->entries[i].weight : m->values[i]; }

/* ----------------------------------------------------------------------- shared functions */

/* widecross.c */
int wci_report(char *err, size_t err_size, int code, const char *fmt, ...);
const char *wci_quoted(char *buf, size_t cap, const char *s, size_t n);
void *wci_alloc(wc_model *m, size_t count, size_t size);

/* wc_decode.c: checksums, zlib streams, Rice-coded ids, value codecs */
uint32_t wci_crc32(const unsigned char *p, size_t n);
const char *wci_rice_decode(const unsigned char *buf, size_t len, uint64_t nnz, uint64_t n_features, wci_entry *entries,
                            uint64_t *ids64);
int wci_decode_values(wc_model *m, const unsigned char *p, size_t len, int encoding, const jdoc *meta, size_t root,
                      char *err, size_t err_size);

/* wc_json.c */
int wci_utf8_valid(const unsigned char *s, size_t n);
double wci_parse_double(const char *s, size_t n, int *ok);
const char *wcj_validate(const jdoc *d, size_t *root);
int wcj_type(const jdoc *d, size_t i);
size_t wcj_skip(const jdoc *d, size_t i);
int wcj_first(const jdoc *d, size_t i, size_t *pos);
int wcj_next(const jdoc *d, size_t *pos, int in_object);
size_t wcj_member_value(const jdoc *d, size_t key);
size_t wcj_count(const jdoc *d, size_t i);
size_t wcj_string(const jdoc *d, size_t i, char *out, int *lone);
int wcj_string_is(const jdoc *d, size_t i, const char *key, size_t n);
int wcj_get(const jdoc *d, size_t obj, const char *key, size_t *value);
int wcj_number(const jdoc *d, size_t i, jnum *num);
int wcj_int_range(const jnum *num, int64_t low, uint64_t high);
int64_t wcj_int64(const jnum *num);
int wcj_int_member(const jdoc *d, size_t root, const char *key, int64_t low, int64_t high, int64_t *out);
int wcj_has_nonfinite(const jdoc *d, size_t i, int *oom);

/* wc_spec.c: the spec as a whole; wc_features.c: one feature object (both read the same state) */
typedef struct {
    const jdoc *d;
    wc_model *m;
    char *err;
    size_t err_size;
    size_t *slot_pos; /* JSON offset of every feature's components, features in order */
    size_t n_slot_pos, cap_slot_pos;
    size_t *feat_pos; /* JSON offset of every feature */
} wci_spec_parse;

int wci_parse_spec(wc_model *m, const jdoc *d, size_t spec, uint64_t n_features, char *err, size_t err_size);
int wci_spec_fail(wci_spec_parse *p, const char *fmt, ...);
const char *wci_arena_string(wc_model *m, const jdoc *d, size_t i, size_t *len, int *lone);
int wci_spec_int(wci_spec_parse *p, size_t obj, const char *key, int64_t low, uint64_t high, int nullable, int64_t *out,
                 int *is_null);
int wci_collect_components(wci_spec_parse *p, size_t obj, int depth);
int wci_parse_component(wci_spec_parse *p, size_t obj, component *c);
vocab_entry *wci_vocab_slot(const component *c, uint64_t hash, int type, int64_t integer, const char *text,
                            size_t length);

#endif /* WC_INTERNAL_H */
