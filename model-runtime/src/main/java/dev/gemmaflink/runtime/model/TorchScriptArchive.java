package dev.gemmaflink.runtime.model;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import dev.gemmaflink.runtime.ModelLoadException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import java.util.stream.Stream;

/**
 * Writes a TorchScript archive (the zip that {@code torch.jit.save} produces) from TorchScript source text,
 * without Python.
 *
 * <p>The archive holds a single module class without parameters or buffers: every tensor (weights, caches,
 * inputs) is passed to its methods as an argument, so the archive carries no tensor data. Layout, all entries
 * under one top folder named after the archive:
 * <pre>
 *   NAME/code/__torch__.py   class CLASS(Module): ... (serialized TorchScript: dtypes as ints, ops as torch.* / ops.*)
 *   NAME/data.pkl            pickle (protocol 2) of an empty __torch__.CLASS object, state {"training": False}
 *   NAME/constants.pkl       pickled empty tuple
 *   NAME/version             10 (version 8 rejects gelu(approximate="tanh"))
 *   NAME/byteorder           little
 * </pre>
 * Entries are STORED (uncompressed), as PyTorch writes them.
 */
public final class TorchScriptArchive {

    /** Serialization format version; 10 is the first that accepts {@code gelu(..., approximate="tanh")}. */
    public static final int FORMAT_VERSION = 10;

    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    private final String archiveName;
    private final String className;
    private final String methods;

    /**
     * @param archiveName top folder name inside the zip (also the file stem DJL looks for)
     * @param className   TorchScript class name of the module
     * @param methods     method definitions, each starting with {@code def} at indentation zero; they are indented
     *                    into the class body. The first parameter of each must be {@code self: __torch__.CLASS}.
     */
    public TorchScriptArchive(String archiveName, String className, String methods) {
        this.archiveName = requireIdentifier(archiveName, "archiveName");
        this.className = requireIdentifier(className, "className");
        this.methods = Objects.requireNonNull(methods, "methods");
    }

    private static String requireIdentifier(String s, String what) {
        if (s == null || !IDENTIFIER.matcher(s).matches()) {
            throw new IllegalArgumentException(what + " must be a Python identifier, got: " + s);
        }
        return s;
    }

    /** The complete {@code code/__torch__.py} text. */
    public String source() {
        StringBuilder sb = new StringBuilder();
        sb.append("class ").append(className).append("(Module):\n");
        sb.append("  __parameters__ = []\n");
        sb.append("  __buffers__ = []\n");
        sb.append("  training : bool\n");
        for (String line : methods.split("\n", -1)) {
            if (line.isBlank()) {
                continue;
            }
            sb.append("  ").append(line).append('\n');
        }
        return sb.toString();
    }

    /** Writes the archive to {@code dir/archiveName.pt} and returns that path. */
    public Path writeTo(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(archiveName + ".pt");
        try (OutputStream out = Files.newOutputStream(file);
             ZipOutputStream zip = new ZipOutputStream(out)) {
            stored(zip, "data.pkl", dataPickle());
            stored(zip, "code/__torch__.py", source().getBytes(StandardCharsets.UTF_8));
            stored(zip, "constants.pkl", new byte[] {(byte) 0x80, 2, ')', 'q', 0, '.'});
            stored(zip, "version", (FORMAT_VERSION + "\n").getBytes(StandardCharsets.US_ASCII));
            stored(zip, "byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        }
        return file;
    }

    /**
     * Writes the archive to a temporary folder, loads it with DJL's PyTorch engine on {@code device} and removes the
     * folder. The caller owns the returned model and must keep a reference to it for as long as it is used (a DJL
     * model that becomes unreachable frees its module).
     *
     * @throws ModelLoadException when PyTorch rejects the generated module (the message carries its reason)
     */
    public Model load(Device device) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("gemma-torchscript-");
            writeTo(dir);
            Model model = Model.newInstance(archiveName, device, "PyTorch");
            try {
                model.load(dir, archiveName);
            } catch (MalformedModelException | IOException | RuntimeException e) {
                model.close();
                throw new ModelLoadException("generated TorchScript module " + archiveName + " does not load: "
                        + e.getMessage(), e);
            }
            return model;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the TorchScript archive " + archiveName, e);
        } finally {
            if (dir != null) {
                deleteQuietly(dir);
            }
        }
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temporary folder is harmless
        }
    }

    private void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(archiveName + "/" + name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }

    /** Pickle of {@code __torch__.CLASS()} with state {"training": False}, memo opcodes as torch writes them. */
    byte[] dataPickle() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x80);
        b.write(2); // PROTO 2
        b.write('c'); // GLOBAL module\nname\n
        b.writeBytes(("__torch__\n" + className + "\n").getBytes(StandardCharsets.US_ASCII));
        b.write('q');
        b.write(0); // BINPUT 0
        b.write(')'); // EMPTY_TUPLE
        b.write(0x81); // NEWOBJ
        b.write('q');
        b.write(1);
        b.write('}'); // EMPTY_DICT
        b.write('q');
        b.write(2);
        b.write('('); // MARK
        byte[] key = "training".getBytes(StandardCharsets.US_ASCII);
        b.write('X'); // BINUNICODE, 4-byte little-endian length
        b.write(key.length);
        b.write(0);
        b.write(0);
        b.write(0);
        b.writeBytes(key);
        b.write('q');
        b.write(3);
        b.write(0x89); // NEWFALSE
        b.write('u'); // SETITEMS
        b.write('b'); // BUILD
        b.write('.'); // STOP
        return b.toByteArray();
    }
}
