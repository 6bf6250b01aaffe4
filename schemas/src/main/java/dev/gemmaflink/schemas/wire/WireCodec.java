package dev.gemmaflink.schemas.wire;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.JsonEncoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecordBase;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;

/**
 * The wire format of one record type: Avro binary with the single-object encoding header
 * ({@code C3 01} + 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema), the Avro JSON encoding, or
 * the body alone for the Confluent Schema Registry framing ({@link ConfluentFraming}: {@link #encodeConfluent},
 * {@link #decodeBody}; the writer schema of such a value comes from a registry, which this module does not talk to).
 *
 * <p>Decoding is strict: it reads exactly what was sent, or refuses it with a {@link WireFormatException} whose
 * message says what was wrong.
 * <ul>
 *   <li>Binary: the fingerprint picks the writer schema (the current one or any in {@link SchemaHistory}), an unknown
 *       fingerprint is {@link ErrorCode#UNKNOWN_SCHEMA}, and the body is resolved to the current schema. The body must
 *       end exactly where the value ends: trailing bytes (a second record glued on, say) are
 *       {@link ErrorCode#DECODE_FAILED}, as are truncated or corrupt bodies.</li>
 *   <li>JSON: the value must be valid UTF-8 holding exactly one well-formed JSON object without duplicate keys;
 *       only whitespace may follow it. JSON carries no fingerprint, so the object is tried against the current schema
 *       first, then against each historical one, newest first, and read with the first writer schema it is valid
 *       under: every field that schema declares is present, no field it does not declare appears (at any depth:
 *       records inside unions, maps and arrays included), every value has the declared type, and Avro reads it.
 *       A field of the wrong type therefore never falls back to an older schema that lacks the field. When no schema
 *       fits, the message gives the problem found against the current schema.</li>
 * </ul>
 *
 * <p>Thread-safe; not serializable: build one per task in {@code open()}.
 *
 * @param <T> generated record class
 */
public final class WireCodec<T extends SpecificRecordBase> {

    private static final byte MAGIC_0 = (byte) 0xC3;
    private static final byte MAGIC_1 = (byte) 0x01;
    /** Magic bytes plus the 8-byte fingerprint. */
    private static final int HEADER_LENGTH = 10;

    /** Strict JSON reader; an ObjectMapper is thread-safe once configured. */
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private final Schema current;
    private final SpecificData model;
    private final BinaryMessageEncoder<T> encoder;
    /** Writer schemas of binary input by fingerprint: the current one and every historical one. */
    private final Map<Long, Schema> binaryWriterSchemas;
    /** Writer schemas tried for JSON input: current first, then history newest first. */
    private final List<Schema> jsonWriterSchemas;

    private WireCodec(Class<T> type, Schema current, List<Schema> history) {
        this.current = Objects.requireNonNull(current, "current schema");
        this.model = SpecificData.getForClass(type);
        this.encoder = new BinaryMessageEncoder<>(model, current);
        List<Schema> newestFirst = new ArrayList<>();
        newestFirst.add(current);
        for (int i = history.size() - 1; i >= 0; i--) {
            newestFirst.add(history.get(i));
        }
        this.jsonWriterSchemas = List.copyOf(newestFirst);
        Map<Long, Schema> byFingerprint = new LinkedHashMap<>();
        newestFirst.forEach(s -> byFingerprint.putIfAbsent(SchemaNormalization.parsingFingerprint64(s), s));
        this.binaryWriterSchemas = Map.copyOf(byFingerprint);
    }

    /** Codec for {@link EnrichmentRequest}, the pipeline input. */
    public static WireCodec<EnrichmentRequest> requests() {
        return new WireCodec<>(EnrichmentRequest.class, EnrichmentRequest.getClassSchema(),
                SchemaHistory.schemasOf("EnrichmentRequest"));
    }

    /** Codec for {@link EnrichmentResult}, the pipeline output. */
    public static WireCodec<EnrichmentResult> results() {
        return new WireCodec<>(EnrichmentResult.class, EnrichmentResult.getClassSchema(),
                SchemaHistory.schemasOf("EnrichmentResult"));
    }

    /** Codec for {@link DeadLetter}, the pipeline's rejected records. */
    public static WireCodec<DeadLetter> deadLetters() {
        return new WireCodec<>(DeadLetter.class, DeadLetter.getClassSchema(),
                SchemaHistory.schemasOf("DeadLetter"));
    }

    /** The schema records are decoded into and encoded with. */
    public Schema currentSchema() {
        return current;
    }

    /** CRC-64-AVRO fingerprint of the current schema, as written after the {@code C3 01} header. */
    public long currentFingerprint() {
        return SchemaNormalization.parsingFingerprint64(current);
    }

    /** Encodes with the single-object header and the current schema. */
    public byte[] encode(T record) {
        try {
            ByteBuffer buffer = encoder.encode(record);
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + current.getName(), e);
        }
    }

    /** The Avro binary body alone, with the current schema: no header (for {@link ConfluentFraming}). */
    public byte[] encodeBody(T record) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            BinaryEncoder body = EncoderFactory.get().directBinaryEncoder(out, null);
            new SpecificDatumWriter<T>(current, model).write(record, body);
            body.flush();
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + current.getName(), e);
        }
    }

    /**
     * Encodes in the Confluent Schema Registry framing: {@code 00}, {@code schemaId} (4 bytes, big-endian), the Avro
     * binary body of the current schema. {@code schemaId} must be the registry's id of {@link #currentSchema()}.
     */
    public byte[] encodeConfluent(int schemaId, T record) {
        return ConfluentFraming.frame(schemaId, encodeBody(record));
    }

    /** Encodes as Avro JSON (UTF-8) with the current schema: for humans, fixtures and the JSON input path. */
    public byte[] encodeJson(T record) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            JsonEncoder json = EncoderFactory.get().jsonEncoder(current, out);
            new SpecificDatumWriter<T>(current, model).write(record, json);
            json.flush();
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + current.getName() + " as JSON", e);
        }
    }

    /**
     * Decodes single-object binary or Avro JSON, following the strict rules in the class documentation.
     *
     * @throws WireFormatException with {@link ErrorCode#UNKNOWN_SCHEMA} for an unknown fingerprint, else
     *     {@link ErrorCode#DECODE_FAILED}; the message says what was wrong
     */
    public T decode(byte[] bytes) throws WireFormatException {
        if (bytes == null || bytes.length == 0) {
            throw decodeFailed("empty record value (null or zero bytes)", null);
        }
        if (bytes.length >= 2 && bytes[0] == MAGIC_0 && bytes[1] == MAGIC_1) {
            return decodeBinary(bytes);
        }
        if (looksLikeJson(bytes)) {
            return decodeJson(bytes);
        }
        throw decodeFailed(String.format(
                "neither Avro single-object encoding (header C3 01) nor Avro JSON: %d bytes starting %s%s",
                bytes.length, hexPrefix(bytes), ConfluentFraming.hasMagic(bytes)
                        ? " (the Confluent Schema Registry framing starts with 00: reading it needs a registry)" : ""),
                null);
    }

    /** Decodes single-object binary only ({@code C3 01} header), strictly; anything else is refused. */
    public T decodeSingleObject(byte[] bytes) throws WireFormatException {
        if (bytes == null || bytes.length < 2 || bytes[0] != MAGIC_0 || bytes[1] != MAGIC_1) {
            throw decodeFailed(String.format("not Avro single-object encoding (header C3 01): %s",
                    bytes == null ? "no value" : bytes.length + " bytes starting " + hexPrefix(bytes)), null);
        }
        return decodeBinary(bytes);
    }

    /** Decodes Avro JSON only, strictly (see the class documentation); anything else is refused. */
    public T decodeJsonOnly(byte[] bytes) throws WireFormatException {
        if (bytes == null || !looksLikeJson(bytes)) {
            throw decodeFailed(String.format("not Avro JSON (a JSON object): %s",
                    bytes == null ? "no value" : bytes.length + " bytes starting " + hexPrefix(bytes)), null);
        }
        return decodeJson(bytes);
    }

    /**
     * Decodes an Avro binary body that starts at {@code offset} and runs to the end of {@code bytes}, written with
     * {@code writer} and resolved to the current schema (Avro's schema resolution); the body must end exactly at
     * the end of the value. The caller has checked that {@code writer} can be read as the current schema.
     *
     * @param what names the value in messages, e.g. {@code "schema id 7"}
     * @throws WireFormatException {@link ErrorCode#DECODE_FAILED} for a corrupt, truncated or too long body
     */
    public T decodeBody(byte[] bytes, int offset, Schema writer, String what) throws WireFormatException {
        BinaryDecoder body = DecoderFactory.get().binaryDecoder(bytes, offset, bytes.length - offset, null);
        try {
            T record = new SpecificDatumReader<T>(writer, current, model).read(null, body);
            if (!body.isEnd()) {
                throw decodeFailed(String.format(
                        "%d trailing bytes after the %s body (%d bytes, %s): one value holds one record",
                        body.inputStream().available(), current.getName(), bytes.length, what), null);
            }
            return record;
        } catch (IOException | AvroRuntimeException | IllegalArgumentException | IndexOutOfBoundsException
                | NegativeArraySizeException | UnsupportedOperationException e) {
            throw decodeFailed(String.format("corrupt Avro binary %s (%d bytes, %s): %s", current.getName(),
                    bytes.length, what, e), e);
        }
    }

    // ---- binary ----

    private T decodeBinary(byte[] bytes) throws WireFormatException {
        Schema writer = writerSchemaOf(bytes);
        BinaryDecoder body = DecoderFactory.get()
                .binaryDecoder(bytes, HEADER_LENGTH, bytes.length - HEADER_LENGTH, null);
        try {
            T record = new SpecificDatumReader<T>(writer, current, model).read(null, body);
            requireEndOfValue(body, bytes);
            return record;
        } catch (IOException | AvroRuntimeException | IllegalArgumentException | IndexOutOfBoundsException
                | NegativeArraySizeException | UnsupportedOperationException e) {
            // Avro reports truncated or corrupt payloads through several exception types.
            throw decodeFailed(String.format("corrupt Avro binary %s (%d bytes, fingerprint %s): %s",
                    current.getName(), bytes.length, fingerprintHex(bytes), e), e);
        }
    }

    /** The writer schema named by the header's fingerprint. */
    private Schema writerSchemaOf(byte[] bytes) throws WireFormatException {
        if (bytes.length < HEADER_LENGTH) {
            throw decodeFailed(String.format("bad single-object header: %d bytes, but the header alone is %d "
                    + "(C3 01 + 8-byte schema fingerprint)", bytes.length, HEADER_LENGTH), null);
        }
        Schema writer = binaryWriterSchemas.get(fingerprint(bytes));
        if (writer == null) {
            throw new WireFormatException(ErrorCode.UNKNOWN_SCHEMA, String.format(
                    "unknown writer schema fingerprint %s for %s (known: current and %s)",
                    fingerprintHex(bytes), current.getName(), SchemaHistory.VERSIONS), null);
        }
        return writer;
    }

    /** One value holds one record: bytes after the body would be silently lost. */
    private void requireEndOfValue(BinaryDecoder body, byte[] bytes) throws IOException, WireFormatException {
        if (!body.isEnd()) {
            throw decodeFailed(String.format(
                    "%d trailing bytes after the %s body (%d bytes, fingerprint %s): one value holds one record",
                    body.inputStream().available(), current.getName(), bytes.length, fingerprintHex(bytes)), null);
        }
    }

    // ---- JSON ----

    private T decodeJson(byte[] bytes) throws WireFormatException {
        String text = utf8(bytes);
        JsonNode document = parseOneDocument(text);
        WireFormatException againstCurrent = null;
        for (Schema writer : jsonWriterSchemas) {
            try {
                return decodeJsonAs(writer, document, text);
            } catch (WireFormatException e) {
                if (againstCurrent == null) {
                    againstCurrent = e;
                }
            }
        }
        throw invalidJson(againstCurrent.getMessage() + " (against the current schema; no historical schema fits "
                + "either)", againstCurrent);
    }

    private String utf8(byte[] bytes) throws WireFormatException {
        try {
            // A fresh decoder reports malformed input instead of replacing it with U+FFFD.
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw invalidJson("not valid UTF-8 (" + e + ")", e);
        }
    }

    /** Exactly one JSON value, followed by nothing but whitespace. */
    private JsonNode parseOneDocument(String text) throws WireFormatException {
        try (JsonParser parser = JSON.createParser(text)) {
            JsonNode document = JSON.readTree(parser);
            JsonLocation end = parser.currentLocation();
            if (!onlyWhitespaceFollows(parser)) {
                throw invalidJson("content after the end of the JSON object at " + at(end)
                        + ": a value holds exactly one JSON object, followed by nothing but whitespace", null);
            }
            return document;
        } catch (JsonEOFException e) {
            throw invalidJson("the JSON ends at " + at(e.getLocation())
                    + " before the document is complete (an object, array or string is not closed)", e);
        } catch (JsonProcessingException e) {
            throw invalidJson("not well-formed JSON at " + at(e.getLocation()) + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw invalidJson("cannot read the JSON: " + e, e);
        }
    }

    private static boolean onlyWhitespaceFollows(JsonParser parser) {
        try {
            return parser.nextToken() == null;
        } catch (IOException e) {
            return false; // not even a JSON token follows
        }
    }

    private static String at(JsonLocation location) {
        return location == null ? "an unknown position"
                : String.format("line %d, column %d", location.getLineNr(), location.getColumnNr());
    }

    /** Reads {@code text} with one writer schema, if the document is valid under it. */
    private T decodeJsonAs(Schema writer, JsonNode document, String text) throws WireFormatException {
        String mismatch = AvroJsonShape.mismatch(document, writer);
        if (mismatch != null) {
            throw decodeFailed(mismatch, null);
        }
        try {
            SpecificDatumReader<T> reader = new SpecificDatumReader<>(writer, current, model);
            return reader.read(null, DecoderFactory.get().jsonDecoder(writer, text));
        } catch (IOException | RuntimeException e) {
            throw decodeFailed("Avro cannot read it: " + e, e);
        }
    }

    private WireFormatException invalidJson(String detail, Throwable cause) {
        return decodeFailed("invalid Avro JSON for " + current.getName() + ": " + detail, cause);
    }

    // ---- helpers ----

    private static WireFormatException decodeFailed(String message, Throwable cause) {
        return new WireFormatException(ErrorCode.DECODE_FAILED, message, cause);
    }

    /** Whether a value starts with the single-object header {@code C3 01}. */
    public static boolean isSingleObject(byte[] bytes) {
        return bytes != null && bytes.length >= 2 && bytes[0] == MAGIC_0 && bytes[1] == MAGIC_1;
    }

    /** Whether a value is taken for Avro JSON: its first character other than whitespace is an opening brace. */
    public static boolean isJson(byte[] bytes) {
        return bytes != null && looksLikeJson(bytes);
    }

    /** The first bytes of a value in hex, for messages. */
    public static String hexStart(byte[] bytes) {
        return hexPrefix(bytes);
    }

    private static boolean looksLikeJson(byte[] bytes) {
        for (byte b : bytes) {
            if (b == '{') {
                return true;
            }
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                return false;
            }
        }
        return false;
    }

    /** The fingerprint after the two magic bytes, little-endian. Needs the whole header. */
    private static long fingerprint(byte[] bytes) {
        long fp = 0;
        for (int i = HEADER_LENGTH - 1; i >= 2; i--) {
            fp = (fp << 8) | (bytes[i] & 0xFF);
        }
        return fp;
    }

    private static String fingerprintHex(byte[] bytes) {
        return bytes.length < HEADER_LENGTH ? "(truncated)" : String.format("%016x", fingerprint(bytes));
    }

    private static String hexPrefix(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(8, bytes.length); i++) {
            sb.append(String.format("%02x", bytes[i] & 0xFF));
        }
        return sb.toString();
    }

    /**
     * Whether a JSON tree is the Avro JSON encoding of a value of a schema, so that Avro reads it without dropping
     * or coercing anything: records list exactly their declared fields, a union is {@code null} or a one-key object
     * naming the branch, bytes and fixed hold one character U+0000..U+00FF per byte, ints and longs are JSON
     * integers in range.
     */
    private static final class AvroJsonShape {
        private static final int SHOWN_VALUE_CHARS = 40;

        private AvroJsonShape() {
        }

        /** The first way {@code document} does not fit {@code schema}, naming the field, or null when it fits. */
        static String mismatch(JsonNode document, Schema schema) {
            return mismatch(document, schema, "");
        }

        private static String mismatch(JsonNode value, Schema schema, String path) {
            return switch (schema.getType()) {
                case RECORD -> recordMismatch(value, schema, path);
                case UNION -> unionMismatch(value, schema, path);
                case MAP -> mapMismatch(value, schema, path);
                case ARRAY -> arrayMismatch(value, schema, path);
                case STRING -> value.isTextual() ? null : expected(path, schema, value);
                case ENUM -> value.isTextual() && schema.hasEnumSymbol(value.textValue()) ? null
                        : expected(path, schema, value) + " (symbols " + schema.getEnumSymbols() + ")";
                case BYTES -> value.isTextual() && isByteString(value.textValue()) ? null
                        : expected(path, schema, value) + " (one character U+0000..U+00FF per byte)";
                case FIXED -> value.isTextual() && isByteString(value.textValue())
                        && value.textValue().length() == schema.getFixedSize() ? null
                        : expected(path, schema, value) + " (" + schema.getFixedSize() + " characters U+0000..U+00FF)";
                case INT -> value.isIntegralNumber() && value.canConvertToInt() ? null : expected(path, schema, value);
                case LONG -> value.isIntegralNumber() && value.canConvertToLong() ? null : expected(path, schema, value);
                case FLOAT, DOUBLE -> value.isNumber() ? null : expected(path, schema, value);
                case BOOLEAN -> value.isBoolean() ? null : expected(path, schema, value);
                case NULL -> value.isNull() ? null : expected(path, schema, value);
            };
        }

        /** A JSON object with every declared field and no other, each field's value fitting its schema. */
        private static String recordMismatch(JsonNode value, Schema record, String path) {
            if (!value.isObject()) {
                return expected(path, record, value);
            }
            for (Map.Entry<String, JsonNode> property : value.properties()) {
                if (record.getField(property.getKey()) == null) {
                    return child(path, property.getKey()) + ": no such field in " + record.getName();
                }
            }
            for (Schema.Field field : record.getFields()) {
                JsonNode fieldValue = value.get(field.name());
                if (fieldValue == null) {
                    return child(path, field.name()) + ": missing; Avro JSON lists every field of "
                            + record.getName() + ", defaulted ones included";
                }
                String mismatch = mismatch(fieldValue, field.schema(), child(path, field.name()));
                if (mismatch != null) {
                    return mismatch;
                }
            }
            return null;
        }

        /** {@code null} for a null branch, else {@code {"<branch name>": value}}. */
        private static String unionMismatch(JsonNode value, Schema union, String path) {
            if (value.isNull()) {
                return branch(union, "null") != null ? null : expected(path, union, value);
            }
            if (!value.isObject() || value.size() != 1) {
                return expected(path, union, value) + " (null or a one-key object naming the branch, "
                        + "e.g. {\"string\": \"text\"})";
            }
            Map.Entry<String, JsonNode> only = value.properties().iterator().next();
            Schema branch = branch(union, only.getKey());
            if (branch == null) {
                return String.format("%s: unknown union branch \"%s\" (branches: %s)", where(path), only.getKey(),
                        labels(union));
            }
            return mismatch(only.getValue(), branch, path);
        }

        private static String mapMismatch(JsonNode value, Schema map, String path) {
            if (!value.isObject()) {
                return expected(path, map, value);
            }
            for (Map.Entry<String, JsonNode> entry : value.properties()) {
                String mismatch = mismatch(entry.getValue(), map.getValueType(),
                        path + "[\"" + entry.getKey() + "\"]");
                if (mismatch != null) {
                    return mismatch;
                }
            }
            return null;
        }

        private static String arrayMismatch(JsonNode value, Schema array, String path) {
            if (!value.isArray()) {
                return expected(path, array, value);
            }
            for (int i = 0; i < value.size(); i++) {
                String mismatch = mismatch(value.get(i), array.getElementType(), path + "[" + i + "]");
                if (mismatch != null) {
                    return mismatch;
                }
            }
            return null;
        }

        /** The branch Avro JSON names {@code label}: its full name (a logical type goes by its underlying type). */
        private static Schema branch(Schema union, String label) {
            for (Schema branch : union.getTypes()) {
                if (branch.getFullName().equals(label)) {
                    return branch;
                }
            }
            return null;
        }

        private static String labels(Schema union) {
            return union.getTypes().stream().map(Schema::getFullName).collect(Collectors.joining(", "));
        }

        /** Avro JSON bytes map each character to one byte; anything above U+00FF would be mangled. */
        private static boolean isByteString(String text) {
            for (int i = 0; i < text.length(); i++) {
                if (text.charAt(i) > 0xFF) {
                    return false;
                }
            }
            return true;
        }

        private static String expected(String path, Schema schema, JsonNode value) {
            return String.format("%s: expected %s, got %s", where(path), describe(schema), shown(value));
        }

        private static String describe(Schema schema) {
            return switch (schema.getType()) {
                case RECORD -> "a " + schema.getName() + " record (JSON object)";
                case MAP -> "a map (JSON object)";
                case ARRAY -> "an array";
                case UNION -> "one of [" + labels(schema) + "]";
                default -> schema.getLogicalType() == null ? schema.getFullName()
                        : schema.getFullName() + " (" + schema.getLogicalType().getName() + ")";
            };
        }

        private static String shown(JsonNode value) {
            String json = value.toString();
            return json.length() <= SHOWN_VALUE_CHARS ? json : json.substring(0, SHOWN_VALUE_CHARS) + "...";
        }

        private static String child(String path, String field) {
            return path.isEmpty() ? field : path + "." + field;
        }

        private static String where(String path) {
            return path.isEmpty() ? "the document" : path;
        }
    }
}
