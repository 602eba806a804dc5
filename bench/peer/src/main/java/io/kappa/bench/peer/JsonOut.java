package io.kappa.bench.peer;

import com.fasterxml.jackson.core.io.schubfach.DoubleToDecimal;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A growable byte buffer that writes JSON the way JavaScript's JSON.stringify does, so the peer's
 * output is byte for byte what Kappa's JsonConverter writes for the same value.
 *
 * Numbers are the subtle part: JavaScript prints the shortest decimal that reads back as the same
 * double (0.9817478060722351, 1.4e-8, 1), Java's Double.toString before JDK 19 is not always
 * shortest and prints 1.4E-8 and 1.0. The shortest digits come from Jackson's Schubfach
 * implementation (the algorithm JDK 19+ uses); {@link #number} lays them out by ECMAScript's
 * Number::toString rules.
 */
final class JsonOut {
    private byte[] buf;
    private int len;

    JsonOut(int capacity) {
        buf = new byte[capacity];
    }

    void reset() {
        len = 0;
    }

    int length() {
        return len;
    }

    /** A copy of what was written: the producer needs an array of exactly the record's size. */
    byte[] toByteArray() {
        return Arrays.copyOf(buf, len);
    }

    private void ensure(int extra) {
        if (len + extra > buf.length) buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + extra));
    }

    JsonOut raw(byte[] bytes) {
        return raw(bytes, 0, bytes.length);
    }

    JsonOut raw(byte[] bytes, int off, int n) {
        ensure(n);
        System.arraycopy(bytes, off, buf, len, n);
        len += n;
        return this;
    }

    JsonOut ascii(char c) {
        ensure(1);
        buf[len++] = (byte) c;
        return this;
    }

    JsonOut ascii(String s) {
        ensure(s.length());
        for (int i = 0; i < s.length(); i++) buf[len++] = (byte) s.charAt(i);
        return this;
    }

    JsonOut number(long v) {
        return ascii(Long.toString(v));
    }

    /** The double as JSON.stringify writes it (NaN and the infinities become null, as there). */
    JsonOut number(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) return ascii("null");
        if (v == 0) return ascii('0'); // also -0, which JavaScript prints as 0
        if (v < 0) {
            ascii('-');
            v = -v;
        }
        // Java layout of the shortest digits: "d.ddd", "0.000ddd" or "d.dddE±n"
        String s = DoubleToDecimal.toString(v);
        int e = s.indexOf('E');
        int exp10 = e < 0 ? 0 : Integer.parseInt(s, e + 1, s.length(), 10);
        String mantissa = e < 0 ? s : s.substring(0, e);
        int dot = mantissa.indexOf('.');
        // digits without the point; value = 0.<digits> × 10^point
        StringBuilder digits = new StringBuilder(mantissa.length());
        digits.append(mantissa, 0, dot).append(mantissa, dot + 1, mantissa.length());
        int point = dot + exp10;
        int lead = 0;
        while (lead < digits.length() - 1 && digits.charAt(lead) == '0') lead++;
        point -= lead;
        int end = digits.length();
        while (end > lead + 1 && digits.charAt(end - 1) == '0') end--;
        String d = digits.substring(lead, end);
        int k = d.length();
        int n = point;
        // ECMAScript Number::toString, for value = d × 10^(n−k)
        if (k <= n && n <= 21) {
            ascii(d);
            for (int i = k; i < n; i++) ascii('0');
        } else if (0 < n && n <= 21) {
            ascii(d.substring(0, n)).ascii('.').ascii(d.substring(n));
        } else if (-6 < n && n <= 0) {
            ascii("0.");
            for (int i = n; i < 0; i++) ascii('0');
            ascii(d);
        } else {
            ascii(d.charAt(0));
            if (k > 1) ascii('.').ascii(d.substring(1));
            int x = n - 1;
            ascii('e').ascii(x < 0 ? '-' : '+').ascii(Integer.toString(Math.abs(x)));
        }
        return this;
    }

    /** The string quoted and escaped as JSON.stringify does, UTF-8. */
    JsonOut string(String s) {
        return raw(quote(s));
    }

    static byte[] quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\b': b.append("\\b"); break;
                case '\f': b.append("\\f"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    boolean loneSurrogate = Character.isSurrogate(c)
                        && !(Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1)))
                        && !(Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(s.charAt(i - 1)));
                    if (c < 0x20 || loneSurrogate) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
            }
        }
        return b.append('"').toString().getBytes(StandardCharsets.UTF_8);
    }
}
