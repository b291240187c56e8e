package io.flowmonkey.postgres;

import com.fasterxml.jackson.core.JsonGenerationException;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.util.JsonGeneratorDelegate;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;

/**
 * Refuses, as JSON is written, what the store could not read back or what JSONB would store
 * changed: strings longer than the reading limit (in chars, as Jackson counts them), keys longer
 * than theirs (in bytes of UTF-8, as Jackson's byte parser counts them), numbers whose plain decimal form
 * (PostgreSQL gives numbers back in plain form: {@code 1E+5} as {@code 100000}) is longer than the
 * limit, NaN and infinities (JSON has none; Jackson would write them as strings), and text with NUL
 * (JSONB refuses it) or an unpaired surrogate (UTF-8 cannot encode it). Each refusal names the JSON
 * pointer of the value within its column. Nesting depth is left to Jackson's own
 * {@code StreamWriteConstraints}, set to the same limit. Raw JSON (a {@code @JsonRawValue}) passes
 * unchecked but for NUL, which {@link ExecutionRow} looks for in the finished text: PostgreSQL
 * parses it, and a reader that cannot take it back reports the row with its column.
 */
final class JsonLimitsGenerator extends JsonGeneratorDelegate {

    /** Every long and double shorter than this in plain form needs no measuring. */
    private static final int ALWAYS_SHORT_ENOUGH = 25;

    private final int maxStringLength;
    private final int maxNameLength;
    private final int maxNumberLength;

    JsonLimitsGenerator(JsonGenerator delegate, PgStoreOptions options) {
        super(delegate, false);
        this.maxStringLength = options.maxStringLength();
        this.maxNameLength = options.maxNameLength();
        this.maxNumberLength = options.maxNumberLength();
    }

    @Override
    public void writeFieldName(String name) throws IOException {
        checkName(name);
        super.writeFieldName(name);
    }

    @Override
    public void writeFieldName(SerializableString name) throws IOException {
        checkName(name.getValue());
        super.writeFieldName(name);
    }

    @Override
    public void writeString(String text) throws IOException {
        if (text != null) {
            checkText(text, maxStringLength, "string", null);
        }
        super.writeString(text);
    }

    @Override
    public void writeString(char[] buffer, int offset, int length) throws IOException {
        checkText(new String(buffer, offset, length), maxStringLength, "string", null);
        super.writeString(buffer, offset, length);
    }

    @Override
    public void writeString(SerializableString text) throws IOException {
        checkText(text.getValue(), maxStringLength, "string", null);
        super.writeString(text);
    }

    @Override
    public void writeNumber(short v) throws IOException {
        checkIntegral(v);
        super.writeNumber(v);
    }

    @Override
    public void writeNumber(int v) throws IOException {
        checkIntegral(v);
        super.writeNumber(v);
    }

    @Override
    public void writeNumber(long v) throws IOException {
        checkIntegral(v);
        super.writeNumber(v);
    }

    @Override
    public void writeNumber(BigInteger v) throws IOException {
        if (v != null) {
            checkLength(v.toString().length(), v);
        }
        super.writeNumber(v);
    }

    @Override
    public void writeNumber(double v) throws IOException {
        checkFinite(Double.isFinite(v), v);
        if (maxNumberLength < ALWAYS_SHORT_ENOUGH || Math.abs(v) >= 1e7 || v != 0 && Math.abs(v) < 1e-3) {
            checkLength(plainLength(new BigDecimal(Double.toString(v))), v);
        }
        super.writeNumber(v);
    }

    @Override
    public void writeNumber(float v) throws IOException {
        checkFinite(Float.isFinite(v), v);
        checkLength(plainLength(new BigDecimal(Float.toString(v))), v);
        super.writeNumber(v);
    }

    @Override
    public void writeNumber(BigDecimal v) throws IOException {
        if (v != null) {
            checkLength(plainLength(v), v);
        }
        super.writeNumber(v);
    }

    @Override
    public void writeNumber(String encoded) throws IOException {
        BigDecimal value;
        try {
            value = new BigDecimal(encoded);
        } catch (NumberFormatException | NullPointerException e) {
            throw refused(valuePointer(), "'" + encoded + "' is not a JSON number");
        }
        checkLength(plainLength(value), encoded);
        super.writeNumber(encoded);
    }

    private void checkIntegral(long v) throws IOException {
        if (maxNumberLength < ALWAYS_SHORT_ENOUGH) {
            checkLength(Long.toString(v).length(), v);
        }
    }

    private void checkFinite(boolean finite, Object v) throws IOException {
        if (!finite) {
            throw refused(valuePointer(), "the number " + v + " has no JSON form (it would come back as a string); "
                    + "store a string or null instead");
        }
    }

    private void checkLength(int length, Object v) throws IOException {
        if (length > maxNumberLength) {
            String shown = v.toString();
            throw refused(valuePointer(), "a number of " + length + " digits in plain decimal form ("
                    + (shown.length() > 40 ? shown.substring(0, 40) + "..." : shown) + ") is longer than "
                    + "maxNumberLength " + maxNumberLength + ", so it could not be read back; raise "
                    + "PgStoreOptions.maxNumberLength or store it as a string");
        }
    }

    /** The length of {@code v.toPlainString()} (sign and point included) without building it. */
    static int plainLength(BigDecimal v) {
        int precision = v.precision();
        int scale = v.scale();
        int sign = v.signum() < 0 ? 1 : 0;
        if (scale <= 0) {
            return sign + precision + (v.signum() == 0 ? 0 : -scale);
        }
        return sign + (scale >= precision ? 2 + scale : precision + 1);
    }

    private void checkName(String name) throws IOException {
        // Jackson's byte parser, which reads the columns, counts a key's length in bytes of UTF-8.
        int bytes = utf8Length(name);
        if (bytes > maxNameLength) {
            throw refused(namePointer(name), "a key of " + bytes + " bytes of UTF-8 is longer than maxNameLength "
                    + maxNameLength + ", so it could not be read back; raise that PgStoreOptions limit, or use a "
                    + "shorter key");
        }
        checkText(name, Integer.MAX_VALUE, "key", name);
    }

    /** The pointer of the key being written: built only for a refusal, since most keys pass. */
    private String namePointer(String name) {
        JsonStreamContext object = getOutputContext();
        String parent = object.getParent() == null ? "" : object.pathAsPointer().toString();
        int cut = parent.lastIndexOf('/');
        return (object.hasCurrentName() && cut >= 0 ? parent.substring(0, cut) : parent) + "/" + abbreviate(name);
    }

    /** The length of {@code s} in UTF-8, an unpaired surrogate counted as the 3 bytes it would take. */
    static int utf8Length(String s) {
        int bytes = 0;
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                bytes++;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    /**
     * Checks a string value ({@code key} null) or the key {@code key}; the pointer for the message is
     * built only when the text is refused.
     */
    private void checkText(String text, int maxLength, String what, String key) throws IOException {
        if (text.length() > maxLength) {
            throw refused(pointerOf(key), "a " + what + " of " + text.length() + " chars is longer than "
                    + "maxStringLength " + maxLength + ", so it could not be read back; raise that PgStoreOptions "
                    + "limit, or store less");
        }
        if (text.indexOf('\0') >= 0) {
            throw refused(pointerOf(key), "text contains the NUL character U+0000, which PostgreSQL JSONB cannot "
                    + "store; remove it or encode the value");
        }
        for (int i = 0, n = text.length(); i < n; i++) {
            char c = text.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                } else {
                    throw refused(pointerOf(key), String.format("a %s contains an unpaired surrogate U+%04X at "
                            + "index %d, which UTF-8 cannot encode (it would be stored as '?')", what, (int) c, i));
                }
            }
        }
    }

    private String pointerOf(String key) {
        return key == null ? valuePointer() : namePointer(key);
    }

    private String valuePointer() {
        JsonStreamContext context = getOutputContext();
        if (context.inArray()) {
            // An array's own index moves only as a value is written: the one refused is the next entry.
            return context.getParent().pathAsPointer() + "/" + context.getEntryCount();
        }
        String pointer = context.pathAsPointer().toString();
        return pointer.isEmpty() ? "/" : pointer;
    }

    private static String abbreviate(String name) {
        return name.length() > 40 ? name.substring(0, 40) + "..." : name;
    }

    private JsonGenerationException refused(String pointer, String problem) {
        return new JsonGenerationException("at " + abbreviate(pointer) + ": " + problem, this);
    }
}
