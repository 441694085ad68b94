// Kaisar PoPW GPU kernels, compiled at run time with NVRTC (no headers needed).
//
// They must agree bit for bit with the Rust reference:
//   * popw_gen_a / popw_gen_bt / popw_gen_rows  == prf.rs (Philox4x32-10 keyed by the seed)
//   * popw_leaf_single / popw_leaf_chunks + popw_leaf_merge == merkle::leaf_hash (BLAKE3 keyed)
//   * popw_merkle_level == merkle::node_hash
// Integers are little-endian on the GPU, so an i32 row *is* its BLAKE3 message words, and a u32
// written to memory is its little-endian bytes.

typedef unsigned int u32;
typedef unsigned long long u64;

// ---------------------------------------------------------------- Philox4x32-10 (Random123)

__device__ __forceinline__ void philox4x32_10(u32 c[4], u32 k0, u32 k1) {
#pragma unroll
    for (int r = 0; r < 10; r++) {
        if (r > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        u32 hi0 = __umulhi(0xD2511F53u, c[0]);
        u32 lo0 = 0xD2511F53u * c[0];
        u32 hi1 = __umulhi(0xCD9E8D57u, c[2]);
        u32 lo1 = 0xCD9E8D57u * c[2];
        u32 n0 = hi1 ^ c[1] ^ k0;
        u32 n2 = hi0 ^ c[3] ^ k1;
        c[0] = n0;
        c[1] = lo1;
        c[2] = n2;
        c[3] = lo0;
    }
}

#define B_MATRIX 0xFFFFFFFFu

// A_t: `rows x cols` row-major; one thread per 16-entry block. counter = (block, row, t, dom).
extern "C" __global__ void popw_gen_a(signed char* out, u32 k0, u32 k1, u32 dom, u32 t, u32 rows, u32 cols) {
    u64 idx = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    u32 bpr = cols / 16;
    if (idx >= (u64)rows * bpr) return;
    u32 row = (u32)(idx / bpr);
    u32 blk = (u32)(idx % bpr);
    u32 c[4] = {blk, row, t, dom};
    philox4x32_10(c, k0, k1);
    uint4 v = make_uint4(c[0], c[1], c[2], c[3]);
    *reinterpret_cast<uint4*>(out + (u64)row * cols + (u64)blk * 16) = v;
}

// Arbitrary rows (t[r], i[r]) of the A matrices, packed as `count x cols`.
extern "C" __global__ void popw_gen_rows(signed char* out, u32 k0, u32 k1, u32 dom, const u32* ts, const u32* is,
                                         u32 count, u32 cols) {
    u64 idx = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    u32 bpr = cols / 16;
    if (idx >= (u64)count * bpr) return;
    u32 r = (u32)(idx / bpr);
    u32 blk = (u32)(idx % bpr);
    u32 c[4] = {blk, is[r], ts[r], dom};
    philox4x32_10(c, k0, k1);
    uint4 v = make_uint4(c[0], c[1], c[2], c[3]);
    *reinterpret_cast<uint4*>(out + (u64)r * cols + (u64)blk * 16) = v;
}

// B^T: B is `k x n` (row l, column j; counter = (j/16, l, B_MATRIX, dom)); stored transposed as
// `n x k` row-major so that both GEMM operands are K-contiguous (cuBLAS "TN", the IMMA layout).
// Thread index runs over l fastest so that the byte stores of a warp are contiguous.
extern "C" __global__ void popw_gen_bt(signed char* out, u32 k0, u32 k1, u32 dom, u32 k, u32 n) {
    u64 idx = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    u32 bpr = n / 16;
    if (idx >= (u64)k * bpr) return;
    u32 l = (u32)(idx % k);
    u32 jb = (u32)(idx / k);
    u32 c[4] = {jb, l, B_MATRIX, dom};
    philox4x32_10(c, k0, k1);
#pragma unroll
    for (int q = 0; q < 16; q++) {
        u32 byte = (c[q / 4] >> (8 * (q % 4))) & 0xFFu;
        out[(u64)(jb * 16 + q) * k + l] = (signed char)byte;
    }
}

// ---------------------------------------------------------------- BLAKE3

#define CHUNK_START 1u
#define CHUNK_END 2u
#define PARENT 4u
#define ROOT 8u
#define KEYED_HASH 16u

#define LEAF_TAG 0x464C5750u  // "PWLF" little-endian
#define NODE_TAG 0x444E5750u  // "PWND" little-endian
#define HASH_VERSION 1u

__device__ __constant__ u32 BLAKE3_IV[8] = {0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
                                           0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u};

__device__ __forceinline__ u32 rotr32(u32 x, u32 n) { return (x >> n) | (x << (32 - n)); }

__device__ __forceinline__ void g(u32* s, int a, int b, int c, int d, u32 x, u32 y) {
    s[a] = s[a] + s[b] + x;
    s[d] = rotr32(s[d] ^ s[a], 16);
    s[c] = s[c] + s[d];
    s[b] = rotr32(s[b] ^ s[c], 12);
    s[a] = s[a] + s[b] + y;
    s[d] = rotr32(s[d] ^ s[a], 8);
    s[c] = s[c] + s[d];
    s[b] = rotr32(s[b] ^ s[c], 7);
}

// Compress one 64-byte block; `cv` is replaced by the new chaining value (first 8 output words).
__device__ void compress(u32 cv[8], const u32 block[16], u64 counter, u32 block_len, u32 flags) {
    u32 s[16];
    u32 m[16];
#pragma unroll
    for (int i = 0; i < 16; i++) m[i] = block[i];
#pragma unroll
    for (int i = 0; i < 8; i++) s[i] = cv[i];
    s[8] = BLAKE3_IV[0];
    s[9] = BLAKE3_IV[1];
    s[10] = BLAKE3_IV[2];
    s[11] = BLAKE3_IV[3];
    s[12] = (u32)counter;
    s[13] = (u32)(counter >> 32);
    s[14] = block_len;
    s[15] = flags;
    const int perm[16] = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};
#pragma unroll
    for (int r = 0; r < 7; r++) {
        g(s, 0, 4, 8, 12, m[0], m[1]);
        g(s, 1, 5, 9, 13, m[2], m[3]);
        g(s, 2, 6, 10, 14, m[4], m[5]);
        g(s, 3, 7, 11, 15, m[6], m[7]);
        g(s, 0, 5, 10, 15, m[8], m[9]);
        g(s, 1, 6, 11, 12, m[10], m[11]);
        g(s, 2, 7, 8, 13, m[12], m[13]);
        g(s, 3, 4, 9, 14, m[14], m[15]);
        if (r < 6) {
            u32 t[16];
#pragma unroll
            for (int i = 0; i < 16; i++) t[i] = m[perm[i]];
#pragma unroll
            for (int i = 0; i < 16; i++) m[i] = t[i];
        }
    }
#pragma unroll
    for (int i = 0; i < 8; i++) cv[i] = s[i] ^ s[i + 8];
}

__device__ __forceinline__ void leaf_key(u32 key[8], u32 t, u32 i) {
    key[0] = LEAF_TAG;
    key[1] = HASH_VERSION;
    key[2] = t;
    key[3] = i;
    key[4] = 0;
    key[5] = 0;
    key[6] = 0;
    key[7] = 0;
}

// Rows of at most 256 entries (one BLAKE3 chunk of n/16 full blocks): one thread per row.
// c: `m x n` i32 row-major. leaves: `m x 8` words.
extern "C" __global__ void popw_leaf_single(const int* c, u32* leaves, u32 t, u32 m, u32 n) {
    u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= m) return;
    u32 cv[8];
    leaf_key(cv, t, i);
    const u32* row = reinterpret_cast<const u32*>(c) + (u64)i * n;
    u32 nb = n / 16;
    for (u32 b = 0; b < nb; b++) {
        u32 flags = KEYED_HASH;
        if (b == 0) flags |= CHUNK_START;
        if (b == nb - 1) flags |= CHUNK_END | ROOT;
        compress(cv, row + b * 16, 0, 64, flags);
    }
#pragma unroll
    for (int w = 0; w < 8; w++) leaves[(u64)i * 8 + w] = cv[w];
}

// Rows of more than 256 entries: one thread per (row, 1 KiB chunk) computes the chunk's
// chaining value. cvs: `m x (n/256) x 8` words.
extern "C" __global__ void popw_leaf_chunks(const int* c, u32* cvs, u32 t, u32 m, u32 n) {
    u64 idx = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    u32 nchunks = n / 256;
    if (idx >= (u64)m * nchunks) return;
    u32 i = (u32)(idx / nchunks);
    u32 ch = (u32)(idx % nchunks);
    u32 cv[8];
    leaf_key(cv, t, i);
    const u32* src = reinterpret_cast<const u32*>(c) + (u64)i * n + (u64)ch * 256;
    for (u32 b = 0; b < 16; b++) {
        u32 flags = KEYED_HASH;
        if (b == 0) flags |= CHUNK_START;
        if (b == 15) flags |= CHUNK_END;
        compress(cv, src + b * 16, (u64)ch, 64, flags);
    }
#pragma unroll
    for (int w = 0; w < 8; w++) cvs[idx * 8 + w] = cv[w];
}

// Merge each row's n/256 chunk chaining values (a power of two) up the BLAKE3 tree, in place.
extern "C" __global__ void popw_leaf_merge(u32* cvs, u32* leaves, u32 t, u32 m, u32 n) {
    u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= m) return;
    u32 nchunks = n / 256;
    u32* row = cvs + (u64)i * nchunks * 8;
    u32 key[8];
    leaf_key(key, t, i);
    for (u32 width = nchunks; width > 1; width /= 2) {
        for (u32 j = 0; j < width / 2; j++) {
            u32 block[16];
#pragma unroll
            for (int w = 0; w < 16; w++) block[w] = row[(2 * j) * 8 + w];
            u32 cv[8];
#pragma unroll
            for (int w = 0; w < 8; w++) cv[w] = key[w];
            u32 flags = KEYED_HASH | PARENT;
            if (width == 2) flags |= ROOT;
            compress(cv, block, 0, 64, flags);
#pragma unroll
            for (int w = 0; w < 8; w++) row[j * 8 + w] = cv[w];
        }
    }
#pragma unroll
    for (int w = 0; w < 8; w++) leaves[(u64)i * 8 + w] = row[w];
}

// One level of a chunk's Merkle tree: out[j] = node_hash(in[2j], in[2j+1]).
extern "C" __global__ void popw_merkle_level(const u32* in, u32* out, u32 count_out) {
    u32 j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= count_out) return;
    u32 block[16];
#pragma unroll
    for (int w = 0; w < 16; w++) block[w] = in[(u64)j * 16 + w];
    u32 cv[8] = {NODE_TAG, HASH_VERSION, 0, 0, 0, 0, 0, 0};
    compress(cv, block, 0, 64, KEYED_HASH | CHUNK_START | CHUNK_END | ROOT);
#pragma unroll
    for (int w = 0; w < 8; w++) out[(u64)j * 8 + w] = cv[w];
}
