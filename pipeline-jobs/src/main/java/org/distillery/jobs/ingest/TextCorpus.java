package org.distillery.jobs.ingest;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.TreeMap;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.input.PortableDataStream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.distillery.jobs.common.Storage;
import org.distillery.model.nn.Models;
import org.distillery.model.text.Documents;
import scala.Tuple2;

/**
 * A text source's files, and their documents: the files are listed on the driver (so that a dry run can name them),
 * read whole by Spark tasks ({@code .gz} files decompressed), cut by their {@link DocumentRule} and decoded as strict
 * UTF-8 ({@link Documents#decode}: invalid bytes are refused with the document and the byte offset in the file, never
 * replaced). Each file is read by one task: fine for corpora of many files of up to a few hundred MB each.
 */
final class TextCorpus {
    /** The documents table: one marker row per file (entry 0, its SHA-256 and size), then one row per entry. */
    static final StructType SCHEMA = new StructType().add("path", DataTypes.StringType, false)
            .add("entry", DataTypes.IntegerType, false).add("key", DataTypes.StringType)
            .add("text", DataTypes.StringType).add("blank", DataTypes.BooleanType, false)
            .add("sha256", DataTypes.StringType).add("bytes", DataTypes.LongType);

    /** A file the source matched. */
    record SourceFile(String path, long bytes) {
    }

    private TextCorpus() {
    }

    /**
     * The files of {@code location}: comma-separated files, directories (their files, recursively, hidden ones left
     * out) or globs, each expanded; sorted, each once.
     *
     * @throws IllegalArgumentException naming what matched nothing (for the default corpus: which packages to install)
     */
    static List<SourceFile> list(Storage storage, String location) {
        TreeMap<String, Long> files = new TreeMap<>();
        for (String part : splitOutsideBraces(location)) {
            List<SourceFile> found = expand(storage, part);
            if (found.isEmpty()) {
                throw new IllegalArgumentException(TextConfig.DEFAULT_SOURCE.equals(location)
                        ? "the demo text corpus is not installed (" + part + " not found): apt-get install "
                        + TextConfig.DEFAULT_PACKAGES + ", or pass --source"
                        : "source not found: " + part + " (no file matches)");
            }
            found.forEach(f -> files.put(f.path(), f.bytes()));
        }
        return files.entrySet().stream().map(e -> new SourceFile(e.getKey(), e.getValue())).toList();
    }

    /**
     * What the output rule protects: every file or directory the source's parts match (a directory as a whole, so
     * that no output is published inside a corpus folder, where the next run would read it as text).
     */
    static List<String> roots(Storage storage, String location) {
        List<String> roots = new ArrayList<>();
        for (String part : splitOutsideBraces(location)) {
            for (FileStatus s : glob(storage.fs(part), part)) {
                roots.add(s.getPath().toString());
            }
        }
        return roots;
    }

    /**
     * Checks before Spark starts that a {@code --documents} rule is for every file.
     *
     * @throws IllegalArgumentException naming the first file no rule is for
     */
    static void checkRules(List<SourceFile> files, List<String> rules) {
        List<DocumentRule> parsed = rules.stream().map(DocumentRule::parse).toList();
        for (SourceFile f : files) {
            if (DocumentRule.forFile(parsed, new Path(f.path()).getName()) == null) {
                throw new IllegalArgumentException("no --documents rule is for file " + f.path() + " (rules: "
                        + String.join(" ", rules) + ")");
            }
        }
    }

    private static FileStatus[] glob(FileSystem fs, String pattern) {
        try {
            FileStatus[] matched = fs.globStatus(new Path(pattern));
            return matched == null ? new FileStatus[0] : matched;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot list source " + pattern + ": " + e.getMessage());
        }
    }

    private static List<SourceFile> expand(Storage storage, String pattern) {
        FileSystem fs = storage.fs(pattern);
        List<SourceFile> out = new ArrayList<>();
        try {
            for (FileStatus s : glob(fs, pattern)) {
                if (s.isFile()) {
                    out.add(new SourceFile(s.getPath().toString(), s.getLen()));
                    continue;
                }
                RemoteIterator<LocatedFileStatus> it = fs.listFiles(s.getPath(), true);
                while (it.hasNext()) {
                    LocatedFileStatus f = it.next();
                    String rel = f.getPath().toUri().getPath().substring(s.getPath().toUri().getPath().length());
                    boolean hidden = java.util.Arrays.stream(rel.split("/"))
                            .anyMatch(c -> c.startsWith(".") || c.startsWith("_"));
                    if (!hidden) {
                        out.add(new SourceFile(f.getPath().toString(), f.getLen()));
                    }
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot list source " + pattern + ": " + e.getMessage());
        }
        return out;
    }

    /** {@code a,b{c,d},e} to {@code [a, b{c,d}, e]}: commas inside a glob's braces are part of it. */
    static List<String> splitOutsideBraces(String location) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i <= location.length(); i++) {
            char c = i < location.length() ? location.charAt(i) : ',';
            depth += c == '{' ? 1 : c == '}' ? -1 : 0;
            if (c == ',' && depth == 0) {
                String p = location.substring(start, i).strip();
                if (!p.isEmpty()) {
                    parts.add(p);
                }
                start = i + 1;
            }
        }
        return parts;
    }

    /**
     * The documents of {@code files} (rows of {@link #SCHEMA}): every entry with its key {@code PATH#N}, its text
     * ({@code \r\n} read as {@code \n}) or, when it is blank (empty or white space only), null and {@code blank}.
     */
    static Dataset<Row> read(SparkSession spark, List<SourceFile> files, List<String> rules) {
        List<DocumentRule> parsed = rules.stream().map(DocumentRule::parse).toList();
        String paths = String.join(",", files.stream().map(SourceFile::path).toList());
        JavaRDD<Row> rows = JavaSparkContext.fromSparkContext(spark.sparkContext()).binaryFiles(paths)
                .flatMap(f -> documents(f, parsed, rules));
        return spark.createDataFrame(rows, SCHEMA);
    }

    private static Iterator<Row> documents(Tuple2<String, PortableDataStream> file, List<DocumentRule> rules,
                                           List<String> written) {
        String path = file._1();
        byte[] stored = file._2().toArray();
        String name = new Path(path).getName();
        DocumentRule rule = DocumentRule.forFile(rules, name);
        if (rule == null) {
            throw new IllegalArgumentException("no --documents rule is for file " + path + " (rules: "
                    + String.join(" ", written) + ")");
        }
        byte[] bytes = name.endsWith(".gz") ? gunzip(path, stored) : stored;
        List<Row> out = new ArrayList<>();
        out.add(RowFactory.create(path, 0, null, null, false, Models.sha256(stored), (long) stored.length));
        for (DocumentRule.Entry e : rule.entries(bytes)) {
            String key = path + "#" + e.number();
            String text = e.from() == e.to() ? ""
                    : Documents.decode(key, bytes, e.from(), e.to()).replace("\r\n", "\n");
            boolean blank = text.isBlank();
            out.add(RowFactory.create(path, e.number(), key, blank ? null : text, blank, null, null));
        }
        return out.iterator();
    }

    private static byte[] gunzip(String path, byte[] gz) {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalArgumentException("file " + path + " is not readable gzip: " + e.getMessage());
        }
    }
}
