/*
 * fft_f32_vec.h - the batched f32 transforms of fft_f32.c on vectors of
 * VW lanes (private; included by fft_f32.c once per vector width).
 *
 * Lane layout (fft_f32.c): 4G lanes in G groups of 4; complex value e of
 * lane 4u + v has its real part at z[8G e + 4u + v] and its imaginary part
 * at z[8G e + 4G + 4u + v].  A vector of VW = 4 lanes holds one group; one of
 * VW = 8 lanes holds two neighbouring groups (G must then be even).  Every
 * lane goes through the same float operations in the same order whatever
 * VW is, so the results are bit-identical.
 *
 * The includer defines:
 *   VF                the vector type (VW floats)
 *   VW                its number of lanes, 4 or 8
 *   VN(name)          the name of this width's copy of a function
 *   VFN               the qualifiers and attributes of those functions
 *   VLD(p), VST(p, v) unaligned load and store of VW floats
 *   VLD2(lo, hi)      VW floats from 4 at lo (and, for VW = 8, 4 at hi)
 *   VST2(lo, hi, v)   the inverse of VLD2
 *   VSPLAT(f)         f in every lane
 *   VSHUF(a, b, i0, i1, i2, i3)  the 4-lane shuffle SHUF within each group
 *                     of 4 lanes
 * and this file undefines them at its end, ready for the next width.
 */

/* bfly4 of the generic code on the G groups at a; re, im: offsets of the
 * parts (exchanged for the inverse); o: distance of the four points in
 * floats; w: the twiddles as vectors, or NULL for W^0 = 1. */
VFN void VN(bfly4)(float *a, size_t o, size_t re, size_t im, const VF *w, uint32_t G)
{
    float *r0 = a + re, *i0 = a + im, *r1 = r0 + o, *i1 = i0 + o;
    float *r2 = r1 + o, *i2 = i1 + o, *r3 = r2 + o, *i3 = i2 + o;
    for (size_t u = 0; u < (size_t)4 * G; u += VW) {
        VF ar = VLD(r0 + u), ai = VLD(i0 + u), br = VLD(r1 + u), bi = VLD(i1 + u);
        if (w) {
            VF t = w[2] * br - w[3] * bi;
            bi = w[2] * bi + w[3] * br;
            br = t;
        }
        VF c0r = ar + br, c0i = ai + bi, c1r = ar - br, c1i = ai - bi;
        VF cr = VLD(r2 + u), ci = VLD(i2 + u), dr = VLD(r3 + u), di = VLD(i3 + u);
        if (w) {
            VF t = w[0] * cr - w[1] * ci;
            ci = w[0] * ci + w[1] * cr;
            cr = t;
            t = w[4] * dr - w[5] * di;
            di = w[4] * di + w[5] * dr;
            dr = t;
        }
        VF sr = cr + dr, si = ci + di, er = cr - dr, ei = ci - di;
        VST(r0 + u, c0r + sr);
        VST(i0 + u, c0i + si);
        VST(r2 + u, c0r - sr);
        VST(i2 + u, c0i - si);
        VST(r1 + u, c1r + ei);
        VST(i1 + u, c1i - er);
        VST(r3 + u, c1r - ei);
        VST(i3 + u, c1i + er);
    }
}

/* The radix-4 stages of complex_stages on 4G lanes, from length 4 * done
 * (the stages up to length done were done by the transposes below). */
VFN void VN(stages)(float *z, uint32_t m, int inverse, uint32_t G, uint32_t done)
{
    const size_t e = (size_t)8 * G;
    const size_t re = inverse ? (size_t)4 * G : 0, im = inverse ? 0 : (size_t)4 * G;
    for (uint32_t len = 4 * done; len <= m; len <<= 2) {
        uint32_t q = len / 4, step = CIRCNN_TWIDDLE_CIRCLE / len;
        size_t o = e * q;
        for (uint32_t g = 0; g < m; g += len) VN(bfly4)(z + e * g, o, re, im, NULL, G);
        for (uint32_t j = 1; j < q; j++) {
            VF w[6];
            for (uint32_t r = 0; r < 3; r++) {
                float c, s;
                twiddle_full((r + 1) * j * step, &c, &s);
                w[2 * r] = VSPLAT(c);
                w[2 * r + 1] = VSPLAT(-s);
            }
            for (uint32_t g = j; g < m; g += len) VN(bfly4)(z + e * g, o, re, im, w, G);
        }
    }
}

VFN void VN(split_forward)(float *z, uint32_t m, uint32_t n, uint32_t G)
{
    const size_t e = (size_t)8 * G, h = (size_t)4 * G;
    uint32_t step = CIRCNN_TWIDDLE_CIRCLE / n;
    for (size_t u = 0; u < h; u += VW) {
        VF zr = VLD(z + u), zi = VLD(z + h + u);
        VST(z + u, zr + zi);
        VST(z + h + u, zr - zi);
        if (m >= 2) VST(z + e * (m / 2) + h + u, -VLD(z + e * (m / 2) + h + u));
    }
    for (uint32_t k = 1; k < m / 2; k++) {
        float cf, sf;
        circnn_twiddle_f32(k * step, &cf, &sf);
        VF c = VSPLAT(cf), s = VSPLAT(sf), half = VSPLAT(0.5f);
        float *zk = z + e * k, *zm = z + e * (m - k);
        for (size_t u = 0; u < h; u += VW) {
            VF kr = VLD(zk + u), ki = VLD(zk + h + u), mr = VLD(zm + u), mi = VLD(zm + h + u);
            VF er = kr + mr, ei = ki - mi, dr = kr - mr, di = ki + mi;
            VF pr = c * di - s * dr, pi = -(c * dr + s * di);
            VST(zk + u, half * (er + pr));
            VST(zk + h + u, half * (ei + pi));
            VST(zm + u, half * (er - pr));
            VST(zm + h + u, half * (pi - ei));
        }
    }
}

VFN void VN(split_inverse)(float *z, uint32_t m, uint32_t n, uint32_t G)
{
    const size_t e = (size_t)8 * G, h = (size_t)4 * G;
    uint32_t step = CIRCNN_TWIDDLE_CIRCLE / n;
    for (size_t u = 0; u < h; u += VW) {
        VF x0 = VLD(z + u), xm = VLD(z + h + u);
        VST(z + u, x0 + xm);
        VST(z + h + u, x0 - xm);
        if (m >= 2) {
            float *zh = z + e * (m / 2);
            VST(zh + u, VSPLAT(2.0f) * VLD(zh + u));
            VST(zh + h + u, VSPLAT(-2.0f) * VLD(zh + h + u));
        }
    }
    for (uint32_t k = 1; k < m / 2; k++) {
        float cf, sf;
        circnn_twiddle_f32(k * step, &cf, &sf);
        VF c = VSPLAT(cf), s = VSPLAT(sf);
        float *xk = z + e * k, *xj = z + e * (m - k);
        for (size_t u = 0; u < h; u += VW) {
            VF kr = VLD(xk + u), ki = VLD(xk + h + u), jr = VLD(xj + u), ji = VLD(xj + h + u);
            VF er = kr + jr, ei = ki - ji, pr = kr - jr, pi = ki + ji;
            VF qr = -s * pr - c * pi, qi = c * pr - s * pi;
            VST(xk + u, er + qr);
            VST(xk + h + u, ei + qi);
            VST(xj + u, er - qr);
            VST(xj + h + u, qi - ei);
        }
    }
}

/*
 * The bit-reversal permutation of 4G lanes from in to out, with the first
 * stage of complex_stages done on the way (m >= 4; the parts are exchanged
 * for the inverse): the radix-2 stage pairs t and t + m/2, which land at
 * rev(t) and rev(t) + 1; the first radix-4 stage takes t, t + m/2, t + m/4,
 * t + 3m/4, which land at rev(t) + 0..3.  Returns the length of the stage
 * done.
 */
VFN uint32_t VN(bitrev_copy_first)(const float *in, float *out, uint32_t m, int inverse, uint32_t G)
{
    const size_t e = (size_t)8 * G;
    const size_t re = inverse ? (size_t)4 * G : 0, im = inverse ? 0 : (size_t)4 * G;
    uint32_t bits = circnn_log2u(m);
    if (bits & 1u) {
        for (uint32_t t = 0; t < m / 2; t++) {
            const float *a = in + e * t, *b = in + e * (t + m / 2);
            float *p = out + e * bitrev16(t, bits);
            for (size_t u = 0; u < e; u += VW) {  /* both parts alike */
                VF x = VLD(a + u), y = VLD(b + u);
                VST(p + u, x + y);
                VST(p + e + u, x - y);
            }
        }
        return 2;
    }
    for (uint32_t t = 0; t < m / 4; t++) {
        const float *a = in + e * t, *b = in + e * (t + m / 2), *c = in + e * (t + m / 4),
                    *d = in + e * (t + 3 * (m / 4));
        float *p = out + e * bitrev16(t, bits);
        for (size_t u = 0; u < (size_t)4 * G; u += VW) {  /* bfly4_unit */
            VF ar = VLD(a + re + u), ai = VLD(a + im + u), br = VLD(b + re + u), bi = VLD(b + im + u);
            VF cr = VLD(c + re + u), ci = VLD(c + im + u), dr = VLD(d + re + u), di = VLD(d + im + u);
            VF c0r = ar + br, c0i = ai + bi, c1r = ar - br, c1i = ai - bi;
            VF sr = cr + dr, si = ci + di, er = cr - dr, ei = ci - di;
            VST(p + re + u, c0r + sr);
            VST(p + im + u, c0i + si);
            VST(p + 2 * e + re + u, c0r - sr);
            VST(p + 2 * e + im + u, c0i - si);
            VST(p + e + re + u, c1r + ei);
            VST(p + e + im + u, c1i - er);
            VST(p + 3 * e + re + u, c1r - ei);
            VST(p + 3 * e + im + u, c1i + er);
        }
    }
    return 4;
}

/* Transpose the 4 x 4 matrices whose rows are a, b, c, d (one per group of
 * 4 lanes). */
VFN void VN(transpose4)(VF *a, VF *b, VF *c, VF *d)
{
    VF t0 = VSHUF(*a, *b, 0, 4, 1, 5), t1 = VSHUF(*a, *b, 2, 6, 3, 7);
    VF t2 = VSHUF(*c, *d, 0, 4, 1, 5), t3 = VSHUF(*c, *d, 2, 6, 3, 7);
    *a = VSHUF(t0, t2, 0, 1, 4, 5);
    *b = VSHUF(t0, t2, 2, 3, 6, 7);
    *c = VSHUF(t1, t3, 0, 1, 4, 5);
    *d = VSHUF(t1, t3, 2, 3, 6, 7);
}

/* The complex values t, t + 1 of the VW rows at r (n reals apart), as the
 * real and imaginary vectors of t (*r0, *i0) and t + 1 (*r1, *i1). */
VFN void VN(load_pairs)(const float *r, uint32_t n, uint32_t t, VF *r0, VF *i0, VF *r1, VF *i1)
{
    const float *h = r + 4 * (size_t)n; /* the next group of rows (VW = 8) */
    *r0 = VLD2(r + 2 * t, h + 2 * t);
    *i0 = VLD2(r + n + 2 * t, h + n + 2 * t);
    *r1 = VLD2(r + 2 * (size_t)n + 2 * t, h + 2 * (size_t)n + 2 * t);
    *i1 = VLD2(r + 3 * (size_t)n + 2 * t, h + 3 * (size_t)n + 2 * t);
    VN(transpose4)(r0, i0, r1, i1);
}

/*
 * 4G rows of n reals -> lane layout with the complex values in bit-reversed
 * order, and the first stage of complex_stages done on the way (m >= 8), as
 * in bitrev_copy_first.  Returns the length of the stage done.
 */
VFN uint32_t VN(rows_to_lanes_bitrev_first)(const float *rows, float *z, uint32_t n, uint32_t G)
{
    const size_t e = (size_t)8 * G, h = (size_t)4 * G;
    uint32_t m = n / 2, bits = circnn_log2u(m);
    if (bits & 1u) {
        for (uint32_t t = 0; t < m / 2; t += 2) {
            float *z0 = z + e * bitrev16(t, bits), *z1 = z + e * bitrev16(t + 1, bits);
            for (uint32_t u = 0; u < G; u += VW / 4) {
                const float *r = rows + (size_t)4 * u * n;
                VF ar0, ai0, ar1, ai1, br0, bi0, br1, bi1;
                VN(load_pairs)(r, n, t, &ar0, &ai0, &ar1, &ai1);
                VN(load_pairs)(r, n, t + m / 2, &br0, &bi0, &br1, &bi1);
                float *p0 = z0 + 4 * u, *p1 = z1 + 4 * u;
                VST(p0, ar0 + br0);
                VST(p0 + h, ai0 + bi0);
                VST(p0 + e, ar0 - br0);
                VST(p0 + e + h, ai0 - bi0);
                VST(p1, ar1 + br1);
                VST(p1 + h, ai1 + bi1);
                VST(p1 + e, ar1 - br1);
                VST(p1 + e + h, ai1 - bi1);
            }
        }
        return 2;
    }
    for (uint32_t t = 0; t < m / 4; t += 2) {
        float *z0 = z + e * bitrev16(t, bits), *z1 = z + e * bitrev16(t + 1, bits);
        for (uint32_t u = 0; u < G; u += VW / 4) {
            const float *r = rows + (size_t)4 * u * n;
            VF ar[2], ai[2], br[2], bi[2], cr[2], ci[2], dr[2], di[2];
            VN(load_pairs)(r, n, t, &ar[0], &ai[0], &ar[1], &ai[1]);
            VN(load_pairs)(r, n, t + m / 2, &br[0], &bi[0], &br[1], &bi[1]);
            VN(load_pairs)(r, n, t + m / 4, &cr[0], &ci[0], &cr[1], &ci[1]);
            VN(load_pairs)(r, n, t + 3 * (m / 4), &dr[0], &di[0], &dr[1], &di[1]);
            for (uint32_t v = 0; v < 2; v++) {  /* bfly4_unit, forward */
                float *p = (v ? z1 : z0) + 4 * u;
                VF c0r = ar[v] + br[v], c0i = ai[v] + bi[v], c1r = ar[v] - br[v], c1i = ai[v] - bi[v];
                VF sr = cr[v] + dr[v], si = ci[v] + di[v], er = cr[v] - dr[v], ei = ci[v] - di[v];
                VST(p, c0r + sr);
                VST(p + h, c0i + si);
                VST(p + 2 * e, c0r - sr);
                VST(p + 2 * e + h, c0i - si);
                VST(p + e, c1r + ei);
                VST(p + e + h, c1i - er);
                VST(p + 3 * e, c1r - ei);
                VST(p + 3 * e + h, c1i + er);
            }
        }
    }
    return 4;
}

/* 4G rows of n reals -> lane layout, natural order. */
VFN void VN(rows_to_lanes)(const float *rows, float *z, uint32_t n, uint32_t G)
{
    const size_t e = (size_t)8 * G, h = (size_t)4 * G;
    for (uint32_t s = 0; s < n; s += 4) {
        float *z0 = z + e * (s / 2), *z1 = z0 + e;
        for (uint32_t u = 0; u < G; u += VW / 4) {
            const float *r = rows + (size_t)4 * u * n + s, *q = r + 4 * (size_t)n;
            VF a = VLD2(r, q), b = VLD2(r + n, q + n);
            VF c = VLD2(r + 2 * (size_t)n, q + 2 * (size_t)n);
            VF d = VLD2(r + 3 * (size_t)n, q + 3 * (size_t)n);
            VN(transpose4)(&a, &b, &c, &d);
            VST(z0 + 4 * u, a);
            VST(z0 + h + 4 * u, b);
            VST(z1 + 4 * u, c);
            VST(z1 + h + 4 * u, d);
        }
    }
}

/* Lane layout -> 4G rows of n reals. */
VFN void VN(lanes_to_rows)(const float *z, float *rows, uint32_t n, uint32_t G)
{
    const size_t e = (size_t)8 * G, h = (size_t)4 * G, n4 = 4 * (size_t)n;
    for (uint32_t s = 0; s < n; s += 4) {
        const float *z0 = z + e * (s / 2), *z1 = z0 + e;
        for (uint32_t u = 0; u < G; u += VW / 4) {
            VF a = VLD(z0 + 4 * u), b = VLD(z0 + h + 4 * u), c = VLD(z1 + 4 * u),
               d = VLD(z1 + h + 4 * u);
            VN(transpose4)(&a, &b, &c, &d);
            float *r = rows + (size_t)4 * u * n + s;
            VST2(r, r + n4, a);
            VST2(r + n, r + n + n4, b);
            VST2(r + 2 * (size_t)n, r + 2 * (size_t)n + n4, c);
            VST2(r + 3 * (size_t)n, r + 3 * (size_t)n + n4, d);
        }
    }
}

/* circnn_rfft_f32_rows for n >= 16. */
VFN void VN(rfft_rows)(const float *rows, float *out, float *work, uint32_t n, uint32_t G)
{
    uint32_t m = n / 2;
    uint32_t done = VN(rows_to_lanes_bitrev_first)(rows, work, n, G);
    VN(stages)(work, m, 0, G, done);
    VN(split_forward)(work, m, n, G);
    VN(lanes_to_rows)(work, out, n, G);
}

/* circnn_irfft_f32_rows_unscaled for n >= 4. */
VFN void VN(irfft_rows)(float *spec, float *out, uint32_t n, uint32_t G)
{
    uint32_t m = n / 2;
    VN(rows_to_lanes)(spec, out, n, G);
    VN(split_inverse)(out, m, n, G);
    uint32_t done = VN(bitrev_copy_first)(out, spec, m, 1, G);
    VN(stages)(spec, m, 1, G, done);
    VN(lanes_to_rows)(spec, out, n, G);
}

#undef VF
#undef VW
#undef VN
#undef VFN
#undef VLD
#undef VST
#undef VLD2
#undef VST2
#undef VSPLAT
#undef VSHUF
