package org.distillery.jobs.ingest;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

/**
 * A small seeded corpus in the demo corpus's two layouts: a fortune-style file ({@code %} lines between entries) and a
 * gzipped file of paragraphs; {@link #documents} is what ingest must find in them, worked out here independently.
 */
public final class TextFixtures {
    /** A document as ingest must key it: {@code FILE#ENTRY}, and its text. */
    public record Doc(String file, int entry, String text) {
    }

    private static final String WORDS = "the quick brown fox jumps over lazy dog hacker kludge cruft frob"
            + " wizard daemon bit nybble";

    private TextFixtures() {
    }

    static String sentence(Random r, int words) {
        String[] w = WORDS.split(" ");
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < words; i++) {
            s.append(i == 0 ? "" : r.nextInt(7) == 0 ? ",\n" : " ").append(w[r.nextInt(w.length)]);
        }
        return s.append('.').toString();
    }

    /**
     * Writes {@code fortunes} ({@code entries} entries, one of them holding the rare 'é' once and one 'ß' once) and
     * {@code jargon.txt.gz} ({@code paragraphs} paragraphs) under {@code dir}; returns the documents in file order.
     */
    public static List<Doc> write(Path dir, int entries, int paragraphs, long seed) throws IOException {
        Random r = new Random(seed);
        Files.createDirectories(dir);
        List<Doc> docs = new ArrayList<>();
        StringBuilder fortunes = new StringBuilder();
        for (int i = 1; i <= entries; i++) {
            String text = sentence(r, 3 + r.nextInt(30));
            if (i == 3) {
                text += " caf\u00e9";
            } else if (i == 5) {
                text += " stra\u00dfe";
            }
            fortunes.append(text).append("\n%\n");
            docs.add(new Doc(dir.resolve("fortunes").toUri().toString(), i, text));
        }
        Files.writeString(dir.resolve("fortunes"), fortunes.toString());
        StringBuilder jargon = new StringBuilder("\n\n");
        for (int i = 1; i <= paragraphs; i++) {
            String text = "   :" + sentence(r, 1) + ": n.\n   " + sentence(r, 5 + r.nextInt(40)).replace("\n", "\n   ");
            jargon.append(text).append(i % 3 == 0 ? "\n \n\n" : "\n\n");
            docs.add(new Doc(dir.resolve("jargon.txt.gz").toUri().toString(), i, text));
        }
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(dir.resolve("jargon.txt.gz")))) {
            out.write(jargon.toString().getBytes(StandardCharsets.UTF_8));
        }
        return docs;
    }

    /** The rules that cut {@link #write}'s files as the demo corpus is cut. */
    public static List<String> rules() {
        return TextConfig.DEFAULT_SOURCE_DOCUMENTS;
    }

    /** A document's key as ingest writes it, from the qualified path Spark reports ({@code file:/...}). */
    static String key(Doc d) {
        return d.file().replaceFirst("^file:///", "file:/") + "#" + d.entry();
    }
}
