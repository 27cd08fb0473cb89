package org.distillery.jobs.ingest;

import java.util.List;
import org.distillery.jobs.ingest.IngestConfig.Format;

/**
 * {@code ingest --format text}: how the source's files are cut into documents, the documents into windows, and the
 * character vocabulary built on the training split.
 *
 * @param documents    document rules, each {@code [GLOB=]RULE} ({@link DocumentRule}): a file takes the first rule
 *                     whose GLOB matches its name (a rule without GLOB matches every file)
 * @param window       T, tokens per window, &ge; 2
 * @param burnIn       B, masked context tokens at the start of every window after a document's first, in [0, T)
 * @param minCharCount characters seen fewer times than this in the training split are not in the vocabulary (they
 *                     become the unknown id there too, so that a model learns what to do with one)
 */
public record TextConfig(List<String> documents, int window, int burnIn, int minCharCount) {
    /**
     * The demo corpus, Debian's {@code fortunes} (without its art files, whose drawings are not text to learn) and
     * {@code jargon-text}: comma-separated, each a file or glob.
     */
    public static final String DEFAULT_SOURCE = "/usr/share/games/fortunes/{computers,cookie,debian,definitions,"
            + "disclaimer,drugs,education,ethnic,food,fortunes,goedel,humorists,kids,knghtbrd,law,linux,linuxcookie,"
            + "literature,love,magic,medicine,men-women,miscellaneous,news,paradoxum,people,perl,pets,platitudes,"
            + "politics,pratchett,riddles,science,songs-poems,sports,startrek,tao,translate-me,wisdom,work,zippy},"
            + "/usr/share/doc/jargon-text/jargon.txt.gz";
    /** The Debian packages that hold {@link #DEFAULT_SOURCE}. */
    public static final String DEFAULT_PACKAGES = "fortunes jargon-text";
    /** How {@link #DEFAULT_SOURCE} is cut: the Jargon File by paragraphs, fortune files by their {@code %} lines. */
    public static final List<String> DEFAULT_SOURCE_DOCUMENTS = List.of("*.gz=paragraph", "delimiter:%");
    /** Without {@code --documents}, for another source: one document per line. */
    public static final List<String> DEFAULT_DOCUMENTS = List.of("line");
    public static final int DEFAULT_WINDOW = 128;
    public static final int DEFAULT_BURN_IN = 32;
    public static final int DEFAULT_MIN_CHAR_COUNT = 2;
    /** Without {@code --split}: 5% of the documents for validation, 5% for test. */
    static final IngestConfig.Splits DEFAULT_SPLITS = IngestConfig.Splits.fractions(0.05, 0.05);

    public TextConfig {
        documents = documents == null || documents.isEmpty() ? DEFAULT_DOCUMENTS : List.copyOf(documents);
        documents.forEach(DocumentRule::parse);
        if (window < 2) {
            throw new IllegalArgumentException("--window must be >= 2 tokens (one input and its next token, then"
                    + " more), got " + window);
        }
        if (burnIn < 0 || burnIn >= window) {
            throw new IllegalArgumentException("--burn-in must be in [0, " + window + ") (below --window " + window
                    + ", so that every window scores a token), got " + burnIn);
        }
        if (minCharCount < 1) {
            throw new IllegalArgumentException("--min-char-count must be >= 1, got " + minCharCount);
        }
    }

    /** The defaults: one document per line, T = 128, B = 32, characters seen at least twice. */
    public static TextConfig defaults() {
        return new TextConfig(null, DEFAULT_WINDOW, DEFAULT_BURN_IN, DEFAULT_MIN_CHAR_COUNT);
    }

    /** The document rules for {@code location}: the demo corpus's own when it is the default source. */
    public static List<String> defaultDocuments(String location) {
        return DEFAULT_SOURCE.equals(location) ? DEFAULT_SOURCE_DOCUMENTS : DEFAULT_DOCUMENTS;
    }

    /**
     * The text group of a config: required (defaulted) for {@code --format text}, refused for other formats, and the
     * options of tables (columns, feature preprocessing, split columns) refused for text.
     */
    static TextConfig check(Format format, TextConfig text, IngestConfig.Columns columns,
                            IngestConfig.Preprocessing preprocessing, IngestConfig.Splits splits) {
        if (format != Format.TEXT) {
            if (text != null) {
                throw new IllegalArgumentException("--documents, --window, --burn-in and --min-char-count apply to"
                        + " --format text, not " + format.id());
            }
            return null;
        }
        if (!columns.isEmpty()) {
            throw new IllegalArgumentException("--format text reads documents, not columns: do not pass --id,"
                    + " --id-from, --label, --classes, --features, --features-prefix or --shape");
        }
        if (!preprocessing.equals(new IngestConfig.Preprocessing(null, false, null))) {
            throw new IllegalArgumentException("--format text has no features to scale: do not pass --scale,"
                    + " --standardize or --transform-from");
        }
        if (splits.column() != null) {
            throw new IllegalArgumentException("--format text splits documents by a seeded hash (--split"
                    + " validation=F,test=F or none), not by a column: --split-column does not apply");
        }
        return text == null ? defaults() : text;
    }
}
