/*
 * wc_decode.c: the byte-level decoders of a model file: CRC-32, the zlib streams of the values
 * section (RFC 1950/1951, written here so that the reader needs no zlib), the Rice-coded
 * column ids and the float32 / float16 / q8 value codecs (docs/format.md, "Sections").
 * Every decoder bounds-checks its reads and reports the first inconsistency.
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

/* ----------------------------------------------------------------------- CRC-32, Adler-32 */

uint32_t wci_crc32(const unsigned char *p, size_t n)
{
    /* zlib's CRC-32 (reflected polynomial 0xEDB88320), four bits at a time. */
    static const uint32_t table[16] = {0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
                                       0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
                                       0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ table[crc & 15u];
        crc = (crc >> 4) ^ table[crc & 15u];
    }
    return crc ^ 0xFFFFFFFFu;
}

/* ----------------------------------------------------------------------- inflate (RFC 1950/1951) */

/*
 * The values section holds zlib streams of byte planes: output byte p belongs to plane p / n,
 * row p % n, and is stored at row * stride + plane, so the planes land straight in their final
 * interleaved places with no temporary copy. Back-references read earlier output through the
 * same mapping. Decoding follows zlib's acceptance rules (see docs/format.md).
 */
typedef struct {
    const unsigned char *in;
    size_t in_len, in_pos;
    uint32_t bitbuf;
    int bitcnt;
    unsigned char *out;
    size_t n, total, pos, row, plane, stride;
    uint32_t a, b;
    const char *why;
} inflater;

typedef struct {
    short count[16];
    short symbol[288];
} huffman;

static int inf_bits(inflater *s, int need, uint32_t *value)
{
    uint32_t v = s->bitbuf;
    while (s->bitcnt < need) {
        if (s->in_pos == s->in_len) {
            s->why = "the stream ends early (truncated)";
            return 0;
        }
        v |= (uint32_t)s->in[s->in_pos++] << s->bitcnt;
        s->bitcnt += 8;
    }
    s->bitbuf = need >= 32 ? 0 : v >> need;
    s->bitcnt -= need;
    *value = need == 0 ? 0 : (v & (((uint32_t)1 << need) - 1u));
    return 1;
}

static int inf_put(inflater *s, unsigned char byte)
{
    if (s->pos == s->total) {
        s->why = "it inflates to more bytes than the header's nnz implies";
        return 0;
    }
    s->out[s->row * s->stride + s->plane] = byte;
    s->a += byte;
    if (s->a >= 65521u) s->a -= 65521u;
    s->b += s->a;
    if (s->b >= 65521u) s->b -= 65521u;
    s->pos++;
    if (++s->row == s->n) {
        s->row = 0;
        s->plane++;
    }
    return 1;
}

static int inf_copy(inflater *s, size_t dist, size_t len)
{
    size_t q, row, plane;
    if (dist > s->pos) {
        s->why = "a back-reference reaches before the start of the data (invalid distance)";
        return 0;
    }
    q = s->pos - dist;
    row = q % s->n;
    plane = q / s->n;
    while (len--) {
        if (!inf_put(s, s->out[row * s->stride + plane])) return 0;
        if (++row == s->n) {
            row = 0;
            plane++;
        }
    }
    return 1;
}

/* Canonical Huffman code from code lengths; returns 0 complete, > 0 incomplete, < 0 over-full. */
static int inf_construct(huffman *h, const short *length, int n)
{
    short offs[16];
    int sym, len, left = 1;
    for (len = 0; len < 16; len++) h->count[len] = 0;
    for (sym = 0; sym < n; sym++) h->count[length[sym]]++;
    if (h->count[0] == n) return 0; /* no codes: decoding anything with it fails */
    for (len = 1; len < 16; len++) {
        left <<= 1;
        left -= h->count[len];
        if (left < 0) return left;
    }
    offs[1] = 0;
    for (len = 1; len < 15; len++) offs[len + 1] = (short)(offs[len] + h->count[len]);
    for (sym = 0; sym < n; sym++)
        if (length[sym] != 0) h->symbol[offs[length[sym]]++] = (short)sym;
    return left;
}

static int inf_decode(inflater *s, const huffman *h)
{
    int code = 0, first = 0, index = 0, len;
    for (len = 1; len < 16; len++) {
        uint32_t bit;
        int count;
        if (!inf_bits(s, 1, &bit)) return -1;
        code |= (int)bit;
        count = h->count[len];
        if (code - count < first) return h->symbol[index + (code - first)];
        index += count;
        first += count;
        first <<= 1;
        code <<= 1;
    }
    s->why = "an invalid Huffman code";
    return -1;
}

static int inf_codes(inflater *s, const huffman *lencode, const huffman *distcode)
{
    static const short lbase[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                    31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const short lext[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                   2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    static const short dbase[30] = {1,    2,    3,    4,    5,    7,    9,    13,    17,    25,
                                    33,   49,   65,   97,   129,  193,  257,  385,   513,   769,
                                    1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    static const short dext[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                   6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
    for (;;) {
        int symbol = inf_decode(s, lencode);
        uint32_t extra;
        size_t len, dist;
        if (symbol < 0) return 0;
        if (symbol < 256) {
            if (!inf_put(s, (unsigned char)symbol)) return 0;
            continue;
        }
        if (symbol == 256) return 1;
        symbol -= 257;
        if (symbol >= 29) {
            s->why = "an invalid length code";
            return 0;
        }
        if (!inf_bits(s, lext[symbol], &extra)) return 0;
        len = (size_t)lbase[symbol] + extra;
        symbol = inf_decode(s, distcode);
        if (symbol < 0) return 0;
        if (symbol >= 30) {
            s->why = "an invalid distance code";
            return 0;
        }
        if (!inf_bits(s, dext[symbol], &extra)) return 0;
        dist = (size_t)dbase[symbol] + extra;
        if (!inf_copy(s, dist, len)) return 0;
    }
}

static int inf_stored(inflater *s)
{
    size_t len;
    s->bitbuf = 0; /* a stored block starts at the next byte */
    s->bitcnt = 0;
    if (s->in_len - s->in_pos < 4) {
        s->why = "the stream ends early (truncated)";
        return 0;
    }
    len = (size_t)s->in[s->in_pos] | (size_t)s->in[s->in_pos + 1] << 8;
    if ((s->in[s->in_pos + 2] ^ 0xff) != (len & 0xff) || (s->in[s->in_pos + 3] ^ 0xff) != (len >> 8)) {
        s->why = "a stored block's length check fails";
        return 0;
    }
    s->in_pos += 4;
    if (s->in_len - s->in_pos < len) {
        s->why = "the stream ends early (truncated)";
        return 0;
    }
    while (len--)
        if (!inf_put(s, s->in[s->in_pos++])) return 0;
    return 1;
}

static int inf_fixed(inflater *s)
{
    huffman lencode, distcode;
    short lengths[320];
    int sym;
    for (sym = 0; sym < 144; sym++) lengths[sym] = 8;
    for (; sym < 256; sym++) lengths[sym] = 9;
    for (; sym < 280; sym++) lengths[sym] = 7;
    for (; sym < 288; sym++) lengths[sym] = 8;
    inf_construct(&lencode, lengths, 288);
    for (sym = 0; sym < 30; sym++) lengths[sym] = 5;
    inf_construct(&distcode, lengths, 30);
    return inf_codes(s, &lencode, &distcode);
}

static int inf_dynamic(inflater *s)
{
    static const short order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    short lengths[320];
    huffman lencode, distcode;
    uint32_t v;
    int nlen, ndist, ncode, index, err;
    if (!inf_bits(s, 5, &v)) return 0;
    nlen = (int)v + 257;
    if (!inf_bits(s, 5, &v)) return 0;
    ndist = (int)v + 1;
    if (!inf_bits(s, 4, &v)) return 0;
    ncode = (int)v + 4;
    if (nlen > 286 || ndist > 30) {
        s->why = "too many length or distance symbols";
        return 0;
    }
    for (index = 0; index < ncode; index++) {
        if (!inf_bits(s, 3, &v)) return 0;
        lengths[order[index]] = (short)v;
    }
    for (; index < 19; index++) lengths[order[index]] = 0;
    if (inf_construct(&lencode, lengths, 19) != 0) {
        s->why = "an invalid code lengths set";
        return 0;
    }
    index = 0;
    while (index < nlen + ndist) {
        int symbol = inf_decode(s, &lencode), len = 0, rep;
        if (symbol < 0) return 0;
        if (symbol < 16) {
            lengths[index++] = (short)symbol;
            continue;
        }
        if (symbol == 16) {
            if (index == 0) {
                s->why = "an invalid bit length repeat";
                return 0;
            }
            len = lengths[index - 1];
            if (!inf_bits(s, 2, &v)) return 0;
            rep = 3 + (int)v;
        } else if (symbol == 17) {
            if (!inf_bits(s, 3, &v)) return 0;
            rep = 3 + (int)v;
        } else {
            if (!inf_bits(s, 7, &v)) return 0;
            rep = 11 + (int)v;
        }
        if (index + rep > nlen + ndist) {
            s->why = "an invalid bit length repeat";
            return 0;
        }
        while (rep--) lengths[index++] = (short)len;
    }
    if (lengths[256] == 0) {
        s->why = "the code lacks an end-of-block symbol";
        return 0;
    }
    err = inf_construct(&lencode, lengths, nlen);
    if (err < 0 || (err > 0 && nlen != lencode.count[0] + lencode.count[1])) {
        s->why = "an invalid literal/lengths set";
        return 0;
    }
    err = inf_construct(&distcode, lengths + nlen, ndist);
    if (err < 0 || (err > 0 && ndist != distcode.count[0] + distcode.count[1])) {
        s->why = "an invalid distances set";
        return 0;
    }
    return inf_codes(s, &lencode, &distcode);
}

/*
 * Inflate the zlib stream `in` into n rows of `width` bytes, row r starting at out + r * stride
 * (plane p of row r at r * stride + p).
 * The stream must be complete, decode to exactly n * width bytes, pass its Adler-32 check and
 * end exactly at the end of `in`. Returns NULL on success, else the reason.
 */
static const char *inflate_planes(const unsigned char *in, size_t in_len, unsigned char *out, size_t n, size_t width,
                                  size_t stride)
{
    inflater s;
    uint32_t last, type;
    memset(&s, 0, sizeof s);
    s.in = in;
    s.in_len = in_len;
    s.out = out;
    s.n = n;
    s.stride = stride;
    s.total = n * width;
    s.a = 1;
    if (in_len < 2) return "the stream is too short for a zlib header";
    if ((in[0] & 0x0f) != 8 || (in[0] >> 4) > 7 || ((unsigned)in[0] << 8 | in[1]) % 31 != 0)
        return "the zlib header is invalid";
    if (in[1] & 0x20) return "the zlib stream asks for a preset dictionary";
    s.in_pos = 2;
    do {
        if (!inf_bits(&s, 1, &last) || !inf_bits(&s, 2, &type)) return s.why;
        if (type == 0) {
            if (!inf_stored(&s)) return s.why;
        } else if (type == 1) {
            if (!inf_fixed(&s)) return s.why;
        } else if (type == 2) {
            if (!inf_dynamic(&s)) return s.why;
        } else {
            return "an invalid block type";
        }
    } while (!last);
    if (s.in_len - s.in_pos < 4) return "the stream ends before its Adler-32 check (truncated)";
    if (((uint32_t)in[s.in_pos] << 24 | (uint32_t)in[s.in_pos + 1] << 16 | (uint32_t)in[s.in_pos + 2] << 8 |
         (uint32_t)in[s.in_pos + 3]) != (s.b << 16 | s.a))
        return "the Adler-32 check of the inflated data fails (corrupted)";
    if (s.in_pos + 4 != s.in_len) return "bytes follow the end of the zlib stream";
    if (s.pos != s.total) return "it inflates to fewer bytes than the header's nnz implies";
    return NULL;
}

/* ----------------------------------------------------------------------- Rice-coded column ids */

static uint64_t rice_get(const unsigned char *buf, uint64_t pos, int nbits)
{
    uint64_t v = 0;
    int j;
    for (j = 0; j < nbits; j++) {
        uint64_t p = pos + (uint64_t)j;
        if ((buf[p >> 3] >> (p & 7)) & 1u) v |= (uint64_t)1 << j;
    }
    return v;
}

/* Decode nnz strictly increasing ids below n_features; NULL on success, else the reason. */
const char *wci_rice_decode(const unsigned char *buf, size_t len, uint64_t nnz, uint64_t n_features, wci_entry *entries,
                            uint64_t *ids64)
{
    const uint64_t total = (uint64_t)len * 8u;
    uint64_t pos = 0, i;
    int64_t prev = -1;
    int k = 0;
    for (i = 0; i < nnz; i++) {
        uint64_t g, q = 0;
        if (i % 64u == 0) {
            if (pos + 6 > total) return "the index stream ends in the middle of a code (truncated or corrupted)";
            k = (int)rice_get(buf, pos, 6);
            pos += 6;
            if (k > 62) return "the index stream holds an impossible Rice parameter or length (corrupted)";
        }
        while (q < 32) {
            unsigned bit;
            if (pos >= total) return "the index stream ends in the middle of a code (truncated or corrupted)";
            bit = (buf[pos >> 3] >> (pos & 7)) & 1u;
            pos++;
            if (!bit) break;
            q++;
        }
        if (q < 32) {
            if (pos + (uint64_t)k > total)
                return "the index stream ends in the middle of a code (truncated or corrupted)";
            g = (q << k) | rice_get(buf, pos, k);
            pos += (uint64_t)k;
        } else {
            int nb;
            if (pos + 6 > total) return "the index stream ends in the middle of a code (truncated or corrupted)";
            nb = (int)rice_get(buf, pos, 6);
            pos += 6;
            if (nb < 1 || nb > 63) return "the index stream holds an impossible Rice parameter or length (corrupted)";
            if (pos + (uint64_t)nb > total)
                return "the index stream ends in the middle of a code (truncated or corrupted)";
            g = rice_get(buf, pos, nb);
            pos += (uint64_t)nb;
        }
        /* prev + 1 + g < n_features, written so that a huge g cannot overflow */
        if (g >= n_features - (uint64_t)(prev + 1))
            return "the index stream decodes to a column id >= n_features (corrupted)";
        prev = prev + 1 + (int64_t)g;
        if (entries)
            entries[i].id = (uint32_t)prev;
        else
            ids64[i] = (uint64_t)prev;
    }
    if ((pos + 7) >> 3 != (uint64_t)len) return "the index stream has data after its last code (corrupted)";
    if ((pos & 7) && (buf[pos >> 3] >> (pos & 7)) != 0)
        return "the index stream has data after its last code (corrupted)";
    return NULL;
}

/* ----------------------------------------------------------------------- values */

static double half_to_double(unsigned h)
{
    unsigned exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    double v;
    if (exponent == 0x1f)
        v = mantissa ? NAN : INFINITY;
    else if (exponent == 0)
        v = ldexp((double)mantissa, -24);
    else
        v = ldexp((double)(mantissa | 0x400), (int)exponent - 25);
    return (h & 0x8000) ? -v : v;
}

static int value_fail(char *err, size_t err_size, const char *why)
{
    return wci_report(err, err_size, WC_ERR_FORMAT, "bad values section: %s", why);
}

/* A zlib payload of n values of `width` bytes: the size bound zlib's ratio allows. */
static int payload_can_hold(size_t payload, uint64_t n, unsigned width)
{
    uint64_t room = (uint64_t)payload;
    if (room > (UINT64_MAX - 64) / ZLIB_MAX_RATIO) return 1;
    return n <= (ZLIB_MAX_RATIO * room + 64) / width;
}

static int check_weight(double v, uint64_t i, char *err, size_t err_size)
{
    char why[96];
    if (isfinite(v) && v != 0 && fabs(v) <= FLT_MAX) return WC_OK;
    snprintf(why, sizeof why, "decoded weight %llu is %g (weights are finite and nonzero)", (unsigned long long)i,
             fabs(v) > FLT_MAX && isfinite(v) ? (v > 0 ? INFINITY : -INFINITY) : v);
    return value_fail(err, err_size, why);
}

/* The i-th value slot: where the inflated bytes of value i land and its float32 is kept. */
static void set_weight(wc_model *m, size_t i, float w)
{
    if (m->entries)
        m->entries[i].weight = w;
    else
        m->values[i] = w;
}

int wci_decode_values(wc_model *m, const unsigned char *p, size_t len, int encoding, const jdoc *meta, size_t root,
                      char *err, size_t err_size)
{
    /* Each value's bytes are inflated into its own 4-byte slot, then read and replaced by the float. */
    unsigned char *base =
        m->entries ? (unsigned char *)m->entries + offsetof(wci_entry, weight) : (unsigned char *)m->values;
    const size_t stride = m->entries ? sizeof(wci_entry) : sizeof(float), n = (size_t)m->nnz;
    const char *why;
    size_t i;
    if (encoding == ENC_FLOAT32) {
        if (!payload_can_hold(len, m->nnz, 4))
            return value_fail(err, err_size, "the section cannot hold that many values");
        if ((why = inflate_planes(p, len, base, n, 4, stride)) != NULL) return value_fail(err, err_size, why);
        for (i = 0; i < n; i++) {
            uint32_t u = le32(base + i * stride);
            float f;
            memcpy(&f, &u, sizeof f);
            if (check_weight(f, i, err, err_size) != WC_OK) return WC_ERR_FORMAT;
            set_weight(m, i, f);
        }
    } else if (encoding == ENC_FLOAT16) {
        int64_t scale_exp;
        if (!wcj_int_member(meta, root, "value_scale_exp", -100, 113, &scale_exp))
            return value_fail(err, err_size, "value_scale_exp must be an integer in [-100, 113]");
        if (!payload_can_hold(len, m->nnz, 2))
            return value_fail(err, err_size, "the section cannot hold that many values");
        if ((why = inflate_planes(p, len, base, n, 2, stride)) != NULL) return value_fail(err, err_size, why);
        for (i = 0; i < n; i++) {
            const unsigned char *slot = base + i * stride;
            double v = ldexp(half_to_double((unsigned)slot[0] | (unsigned)slot[1] << 8), (int)scale_exp);
            if (check_weight(v, i, err, err_size) != WC_OK) return WC_ERR_FORMAT;
            set_weight(m, i, (float)v);
        }
    } else {
        int64_t size, k;
        float codebook[256];
        if (!wcj_int_member(meta, root, "codebook_size", n ? 1 : 0, 256, &size))
            return value_fail(err, err_size, "codebook_size must be an integer in [1, 256]");
        if (len < 4 * (size_t)size) return value_fail(err, err_size, "the section is shorter than its codebook");
        for (k = 0; k < size; k++) {
            uint32_t u = le32(p + 4 * k);
            memcpy(&codebook[k], &u, sizeof(float));
            if (!isfinite(codebook[k]) || codebook[k] == 0)
                return value_fail(err, err_size, "the q8 codebook holds a zero or non-finite entry");
        }
        p += 4 * size;
        len -= 4 * (size_t)size;
        if (!payload_can_hold(len, m->nnz, 1))
            return value_fail(err, err_size, "the section cannot hold that many values");
        if ((why = inflate_planes(p, len, base, n, 1, stride)) != NULL) return value_fail(err, err_size, why);
        for (i = 0; i < n; i++) {
            unsigned code = base[i * stride];
            if ((int64_t)code >= size) return value_fail(err, err_size, "a q8 code is outside the codebook");
            set_weight(m, i, codebook[code]);
        }
    }
    return WC_OK;
}
