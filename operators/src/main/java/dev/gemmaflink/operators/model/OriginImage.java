package dev.gemmaflink.operators.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;

import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ImageData;
import dev.gemmaflink.schemas.wire.ConfluentFraming;
import dev.gemmaflink.schemas.wire.SchemaHistory;
import dev.gemmaflink.schemas.wire.WireCodec;
import dev.gemmaflink.schemas.wire.WireFormatException;

/**
 * The image of a request kept once, in the Kafka record value it was decoded from, instead of a second time in the
 * decoded request. Backs {@link ValidatedRequest}.
 *
 * <p>In the binary wire format ({@code C3 01}, 8-byte fingerprint, Avro body) the image bytes are one contiguous run
 * of the value: Avro writes {@code bytes} as a length and the bytes themselves. {@link #locate} finds that run by
 * walking the writer schema the fingerprint names (the current one or a historical one) up to {@code image.data},
 * skipping the fields before it; nothing is copied.
 *
 * <p>In the Confluent Schema Registry framing ({@code 00}, 4-byte schema id, Avro body) the id means nothing without
 * the registry, and this must work on any TaskManager, registry or not, from the value alone. So the body is walked
 * whole with each schema this runtime knows (the current one, then the history, newest first), and the first under
 * which it parses exactly to its end names the run. That choice depends on the bytes only, so it is the same
 * wherever it is made; and {@link #strip} keeps the image in the request unless the run it names holds exactly the
 * decoded image bytes, so a value whose writer schema is none of these (a compatible evolution the registry knows,
 * this runtime not) keeps its image in the request: correct, only not halved. An image taken from the request is first checked to be exactly
 * that run ({@link #strip}); otherwise it stays in the request. In Avro JSON the bytes are escaped text, so there is
 * no run to point at: the image is decoded again from the value when asked for.
 */
final class OriginImage {

    private static final byte MAGIC_0 = (byte) 0xC3;
    private static final byte MAGIC_1 = (byte) 0x01;
    /** Magic bytes plus the 8-byte fingerprint. */
    private static final int HEADER_LENGTH = 10;
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0).asReadOnlyBuffer();

    /** Writer schemas of binary requests by fingerprint, as the codec knows them: the current one and the history. */
    private static final Map<Long, Schema> WRITERS = writers();
    /** The same schemas for the Confluent framing, in the order they are tried: current, then history newest first. */
    private static final List<Schema> NEWEST_FIRST = newestFirst();

    private OriginImage() {
    }

    /** Where the image bytes lie in a record value: {@code value[offset, offset + length)}. */
    record Span(int offset, int length) {
    }

    /**
     * The request as stored in a {@link ValidatedRequest}: without its image bytes when they are exactly those
     * {@code value} holds, else unchanged.
     */
    static EnrichmentRequest strip(byte[] value, EnrichmentRequest request) {
        ImageData image = request.getImage();
        if (value == null || image == null || image.getData() == null || !image.getData().hasRemaining()) {
            return request;
        }
        ByteBuffer data = image.getData();
        Span span = locate(value);
        if (span != null) {
            return ByteBuffer.wrap(value, span.offset(), span.length()).equals(data)
                    ? withImageData(request, EMPTY) : request;
        }
        if (isJson(value)) {
            ByteBuffer decoded = decodedImageData(value);
            return data.equals(decoded) ? withImageData(request, EMPTY) : request;
        }
        return request;
    }

    /**
     * The image bytes of a stored request: the run of {@code value} they were stripped from (read-only, not
     * copied), or decoded again from a JSON value; the request's own bytes when it kept them; null without image.
     */
    static ByteBuffer imageData(byte[] value, EnrichmentRequest stored) {
        ImageData image = stored.getImage();
        if (image == null || image.getData() == null) {
            return null;
        }
        if (value == null || image.getData().hasRemaining()) {
            return image.getData().asReadOnlyBuffer();
        }
        Span span = locate(value);
        if (span != null) {
            return ByteBuffer.wrap(value, span.offset(), span.length()).slice().asReadOnlyBuffer();
        }
        if (isJson(value)) {
            ByteBuffer decoded = decodedImageData(value);
            if (decoded == null) {
                throw new IllegalStateException("the JSON record value this request was stripped from has no image "
                        + "any more");
            }
            return decoded.asReadOnlyBuffer();
        }
        return image.getData().asReadOnlyBuffer(); // kept in the request (zero bytes)
    }

    /** Whether {@code stored} lacks image bytes that {@code value} holds for it. */
    static boolean inValue(byte[] value, EnrichmentRequest stored) {
        ImageData image = stored.getImage();
        if (value == null || image == null || image.getData() == null || image.getData().hasRemaining()) {
            return false;
        }
        Span span = locate(value);
        if (span != null) {
            return span.length() > 0;
        }
        if (isJson(value)) {
            ByteBuffer decoded = decodedImageData(value);
            return decoded != null && decoded.hasRemaining();
        }
        return false;
    }

    /**
     * The run of {@code value} holding {@code image.data}, or null when the value is not a binary request whose
     * writer schema this runtime knows, has no image, or is malformed.
     */
    static Span locate(byte[] value) {
        if (ConfluentFraming.hasHeader(value)) {
            return locateConfluent(value);
        }
        if (value == null || value.length < HEADER_LENGTH || value[0] != MAGIC_0 || value[1] != MAGIC_1) {
            return null;
        }
        Schema writer = WRITERS.get(fingerprint(value));
        if (writer == null) {
            return null;
        }
        BinaryDecoder in = DecoderFactory.get().binaryDecoder(value, HEADER_LENGTH, value.length - HEADER_LENGTH,
                null);
        try {
            for (Schema.Field field : writer.getFields()) {
                if (field.name().equals("image")) {
                    return imageData(field.schema(), in, value.length);
                }
                GenericDatumReader.skip(field.schema(), in);
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return null; // not a well-formed request: nothing to point at
        }
    }

    /** A Confluent-framed value: the run named by the first known schema the whole body parses with. */
    private static Span locateConfluent(byte[] value) {
        for (Schema writer : NEWEST_FIRST) {
            BinaryDecoder in = DecoderFactory.get().binaryDecoder(value, ConfluentFraming.HEADER_LENGTH,
                    value.length - ConfluentFraming.HEADER_LENGTH, null);
            try {
                Span span = null;
                for (Schema.Field field : writer.getFields()) {
                    if (field.name().equals("image")) {
                        span = skipImage(field.schema(), in, value.length);
                    } else {
                        GenericDatumReader.skip(field.schema(), in);
                    }
                }
                if (in.isEnd()) {
                    return span;
                }
            } catch (IOException | RuntimeException e) {
                // not this schema
            }
        }
        return null;
    }

    /** Reads past the image field, returning the run of its data bytes (null for the null branch). */
    private static Span skipImage(Schema schema, BinaryDecoder in, int valueLength) throws IOException {
        Schema image = schema;
        if (image.getType() == Schema.Type.UNION) {
            image = image.getTypes().get(in.readIndex());
        }
        if (image.getType() != Schema.Type.RECORD) {
            GenericDatumReader.skip(image, in);
            return null;
        }
        Span span = null;
        for (Schema.Field field : image.getFields()) {
            Schema.Type type = field.schema().getType();
            if (field.name().equals("data") && (type == Schema.Type.BYTES || type == Schema.Type.STRING)) {
                long length = in.readLong();
                long offset = valueLength - (long) in.inputStream().available();
                if (length < 0 || offset < ConfluentFraming.HEADER_LENGTH || offset + length > valueLength) {
                    throw new IOException("image data out of the value");
                }
                in.skipFixed((int) length);
                span = new Span((int) offset, (int) length);
            } else {
                GenericDatumReader.skip(field.schema(), in);
            }
        }
        return span;
    }

    /** {@code in} is at the image field (of the writer's schema {@code schema}): the run of its data bytes. */
    private static Span imageData(Schema schema, BinaryDecoder in, int valueLength) throws IOException {
        Schema image = schema;
        if (image.getType() == Schema.Type.UNION) {
            image = image.getTypes().get(in.readIndex());
        }
        if (image.getType() != Schema.Type.RECORD) {
            return null; // null branch: no image
        }
        for (Schema.Field field : image.getFields()) {
            if (field.name().equals("data")) {
                Schema.Type type = field.schema().getType();
                if (type != Schema.Type.BYTES && type != Schema.Type.STRING) {
                    return null;
                }
                long length = in.readLong();
                // A decoder over an array: what it has not read yet is the rest of the value.
                long offset = valueLength - (long) in.inputStream().available();
                if (length < 0 || offset < HEADER_LENGTH || offset + length > valueLength) {
                    return null;
                }
                return new Span((int) offset, (int) length);
            }
            GenericDatumReader.skip(field.schema(), in);
        }
        return null;
    }

    /** A shallow copy of {@code request} whose image holds {@code data}; every other field is shared. */
    static EnrichmentRequest withImageData(EnrichmentRequest request, ByteBuffer data) {
        EnrichmentRequest copy = new EnrichmentRequest();
        int fields = EnrichmentRequest.getClassSchema().getFields().size();
        for (int i = 0; i < fields; i++) {
            copy.put(i, request.get(i));
        }
        ImageData image = new ImageData();
        int imageFields = ImageData.getClassSchema().getFields().size();
        for (int i = 0; i < imageFields; i++) {
            image.put(i, request.getImage().get(i));
        }
        image.setData(data);
        copy.setImage(image);
        return copy;
    }

    private static ByteBuffer decodedImageData(byte[] value) {
        try {
            ImageData image = Codec.REQUESTS.decode(value).getImage();
            return image == null ? null : image.getData();
        } catch (WireFormatException e) {
            return null;
        }
    }

    /** The codec's own test for the JSON input path: the first character that is not whitespace is a brace. */
    private static boolean isJson(byte[] value) {
        for (byte b : value) {
            if (b == '{') {
                return true;
            }
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                return false;
            }
        }
        return false;
    }

    private static long fingerprint(byte[] value) {
        long fp = 0;
        for (int i = HEADER_LENGTH - 1; i >= 2; i--) {
            fp = (fp << 8) | (value[i] & 0xFF);
        }
        return fp;
    }

    private static List<Schema> newestFirst() {
        List<Schema> schemas = new java.util.ArrayList<>();
        schemas.add(EnrichmentRequest.getClassSchema());
        List<Schema> history = SchemaHistory.schemasOf("EnrichmentRequest");
        for (int i = history.size() - 1; i >= 0; i--) {
            schemas.add(history.get(i));
        }
        return List.copyOf(schemas);
    }

    private static Map<Long, Schema> writers() {
        Map<Long, Schema> writers = new HashMap<>();
        List<Schema> history = SchemaHistory.schemasOf("EnrichmentRequest");
        for (Schema schema : history) {
            writers.put(SchemaNormalization.parsingFingerprint64(schema), schema);
        }
        Schema current = EnrichmentRequest.getClassSchema();
        writers.put(SchemaNormalization.parsingFingerprint64(current), current);
        return Map.copyOf(writers);
    }

    /** Built on first use of the JSON path only; a codec is thread-safe. */
    private static final class Codec {
        static final WireCodec<EnrichmentRequest> REQUESTS = WireCodec.requests();
    }
}
