package org.distillery.jobs.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.Storage;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ingest --format text}'s bad input, through the real command line: exit code 2, one line naming the problem
 * and the value (and the document and byte offset where there is one), nothing published and the corpus untouched;
 * and blank documents, which are skipped and counted rather than refused.
 */
class TextIngestBadInputTest extends SparkTestBase {
    @TempDir
    Path dir;

    private Path corpus(String name, byte[] bytes) throws IOException {
        Path c = dir.resolve("corpus");
        Files.createDirectories(c);
        Files.write(c.resolve(name), bytes);
        return c;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private CliRun ingest(Path source, String... more) {
        List<String> args = new ArrayList<>(List.of("ingest", "--format", "text", "--source", source.toString(),
                "--out", dir.resolve("out").toString()));
        args.addAll(List.of(more));
        return CliRun.of(args);
    }

    /** Checks the refusal and that nothing was published or left behind; returns the one line. */
    private String refused(CliRun r) throws IOException {
        assertThat(r.code()).as(r.err()).isEqualTo(2);
        List<String> lines = r.err().strip().lines().toList();
        assertThat(lines).as(r.err()).hasSize(1);
        assertThat(lines.get(0)).startsWith("distill ingest: error: ");
        assertThat(dir.resolve("out")).doesNotExist();
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".out"));
        }
        return lines.get(0);
    }

    @Test
    void invalidUtf8IsRefusedNamingTheDocumentAndTheByteOffsetInTheFile() throws IOException {
        byte[] good = utf8("first entry\n%\nsecond entry\n%\nthird ");
        byte[] bytes = new byte[good.length + 8];
        System.arraycopy(good, 0, bytes, 0, good.length);
        System.arraycopy(utf8("en"), 0, bytes, good.length, 2);
        bytes[good.length + 2] = (byte) 0xFF; // never valid in UTF-8
        System.arraycopy(utf8("try\n%\n"), 0, bytes, good.length + 3, 5);
        Path c = corpus("quotes", java.util.Arrays.copyOf(bytes, good.length + 8));
        byte[] before = Files.readAllBytes(c.resolve("quotes"));
        String line = refused(ingest(c, "--documents", "delimiter:%"));
        assertThat(line).isEqualTo("distill ingest: error: document '" + c.resolve("quotes").toUri().toString()
                .replaceFirst("^file:///", "file:/") + "#3' is not valid UTF-8: malformed input of 1 byte at byte "
                + (good.length + 2));
        assertThat(Files.readAllBytes(c.resolve("quotes"))).isEqualTo(before);
    }

    @Test
    void blankDocumentsAreSkippedAndCounted() throws IOException {
        // entries 2 and 4 are empty (two delimiters in a row), entry 5 is white space only
        Path c = corpus("quotes", utf8("alpha beta\n%\n%\ngamma delta\n%\n%\n  \t\n%\nepsilon zeta\n%\n"));
        CliRun r = ingest(c, "--documents", "delimiter:%", "--split", "none", "--min-char-count", "1");
        assertThat(r.code()).as(r.err()).isZero();
        Manifest m = Storage.of(spark()).publishedManifest(dir.resolve("out").toString());
        assertThat(m.number("blankDocuments")).isEqualTo(3);
        assertThat(m.number("documents")).isEqualTo(3);
        assertThat(m.number("characters")).isEqualTo("alpha betagamma deltaepsilon zeta".length());
    }

    @Test
    void windowShorterThanTwoAndBurnInNotBelowTheWindowAreRefused() throws IOException {
        Path c = corpus("lines.txt", utf8("one line\nanother line\n"));
        assertThat(refused(ingest(c, "--window", "1", "--burn-in", "0")))
                .isEqualTo("distill ingest: error: --window must be >= 2 tokens (one input and its next token, then"
                        + " more), got 1");
        assertThat(refused(ingest(c, "--window", "8", "--burn-in", "8")))
                .isEqualTo("distill ingest: error: --burn-in must be in [0, 8) (below --window 8, so that every"
                        + " window scores a token), got 8");
    }

    @Test
    void anEmptyTrainingSplitIsRefused() throws IOException {
        Path c = corpus("lines.txt", utf8("the only document\n\n \n"));
        assertThat(refused(ingest(c, "--split", "validation=0.5,test=0.4")))
                .isEqualTo("distill ingest: error: the training split has no documents (1 document(s): 0 test, 1"
                        + " validation, 0 train): there is nothing to build the vocabulary on; use more documents or"
                        + " smaller --split fractions");
    }

    @Test
    void aCorpusOfBlankEntriesAndAMissingSourceAreRefused() throws IOException {
        Path c = corpus("lines.txt", utf8("\n  \n\n"));
        assertThat(refused(ingest(c))).isEqualTo("distill ingest: error: the source has no documents: every entry of"
                + " its 1 file(s) is blank (documents line)");
        assertThat(refused(ingest(dir.resolve("nowhere"))))
                .isEqualTo("distill ingest: error: source not found: " + dir.resolve("nowhere") + " (no file matches)");
    }

    @Test
    void aFileNoRuleIsForAndAnOutputInsideTheCorpusAreRefusedBeforeSparkStarts() throws IOException {
        Path c = corpus("notes.md", utf8("one line\n"));
        assertThat(refused(ingest(c, "--documents", "*.txt=line")))
                .isEqualTo("distill ingest: error: no --documents rule is for file " + c.resolve("notes.md").toUri()
                        .toString().replaceFirst("^file:///", "file:/") + " (rules: *.txt=line)");
        CliRun inside = CliRun.of("ingest", "--format", "text", "--source", c.toString(), "--out",
                c.resolve("out").toString());
        assertThat(inside.code()).isEqualTo(2);
        assertThat(inside.err().strip()).isEqualTo("distill ingest: error: --out " + c.resolve("out")
                + " is inside input --source " + c.toUri().toString().replaceFirst("^file:///", "file:/")
                .replaceFirst("/$", ""));
        assertThat(c.resolve("out")).doesNotExist();
    }

    @Test
    void dryRunListsTheCorpusAndPublishesNothing() throws IOException {
        Path c = corpus("lines.txt", utf8("one line\nanother line\n"));
        CliRun r = ingest(c, "--window", "8", "--burn-in", "2", "--dry-run");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("1 file(s), 22 bytes (documents line; windows of 8 tokens, burn-in 2;");
        assertThat(r.lastLine()).startsWith("{\"job\":\"ingest\",\"dryRun\":true");
        assertThat(dir.resolve("out")).doesNotExist();
        CliRun help = CliRun.of("ingest", "--help");
        assertThat(help.code()).isZero();
        assertThat(help.out().replaceAll("\\s+", " ")).contains("--format text: a corpus of UTF-8 text files")
                .contains("--documents=[GLOB=]RULE").contains("--burn-in=B")
                .contains("Blank documents (empty or white space only: two delimiters in a row, a blank line) are"
                        + " skipped and counted");
    }
}
