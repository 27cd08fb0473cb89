package org.distillery.jobs.ingest;

import java.io.Serializable;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How a corpus file is cut into documents, written {@code [GLOB=]RULE}: GLOB (a glob over the file's name, e.g.
 * {@code *.gz}) says which files the rule is for, RULE is one of
 * <ul>
 *   <li>{@code line}: every line is a document;</li>
 *   <li>{@code file}: the whole file is one document;</li>
 *   <li>{@code paragraph}: blocks of lines separated by blank lines (empty or white space only);</li>
 *   <li>{@code delimiter:LINE}: entries separated by lines holding exactly LINE, e.g. {@code delimiter:%} for fortune
 *   files; the delimiter after the last entry is optional.</li>
 * </ul>
 * Cutting works on the file's bytes: a newline byte never occurs inside a multi-byte UTF-8 character, so entries are
 * found before (and whatever) the text is decoded, and each keeps the byte range it came from for messages. Line ends
 * are {@code \n} or {@code \r\n}; a document's last line end is not part of it.
 *
 * @param glob  file-name glob, or null for every file
 * @param kind  the rule
 * @param delimiter the delimiter line's bytes, for {@link Kind#DELIMITER}
 */
record DocumentRule(String glob, Kind kind, String delimiter) implements Serializable {
    enum Kind { LINE, FILE, PARAGRAPH, DELIMITER }

    /** One entry of a file: its 1-based number and its bytes {@code [from, to)} in the file. */
    record Entry(int number, int from, int to) {
    }

    /** Parses {@code [GLOB=]RULE}. */
    static DocumentRule parse(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("--documents needs a rule: line, file, paragraph or delimiter:LINE,"
                    + " optionally after GLOB=, got '" + text + "'");
        }
        String glob = null;
        String rule = text;
        if (!startsWithRule(text) && text.indexOf('=') > 0) {
            glob = text.substring(0, text.indexOf('='));
            rule = text.substring(text.indexOf('=') + 1);
        }
        if (glob != null) {
            try {
                FileSystems.getDefault().getPathMatcher("glob:" + glob);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("--documents " + text + ": '" + glob + "' is not a file-name glob");
            }
        }
        if (rule.startsWith("delimiter:") && rule.length() > "delimiter:".length() && !rule.contains("\n")) {
            return new DocumentRule(glob, Kind.DELIMITER, rule.substring("delimiter:".length()));
        }
        for (Kind k : List.of(Kind.LINE, Kind.FILE, Kind.PARAGRAPH)) {
            if (rule.equals(k.name().toLowerCase(java.util.Locale.ROOT))) {
                return new DocumentRule(glob, k, null);
            }
        }
        throw new IllegalArgumentException("--documents must be [GLOB=]RULE with RULE line, file, paragraph or"
                + " delimiter:LINE (LINE not empty), got '" + text + "'");
    }

    private static boolean startsWithRule(String text) {
        return text.equals("line") || text.equals("file") || text.equals("paragraph") || text.startsWith("delimiter:");
    }

    /** The rule of the first of {@code rules} whose glob matches {@code fileName}, or null when none does. */
    static DocumentRule forFile(List<DocumentRule> rules, String fileName) {
        for (DocumentRule r : rules) {
            if (r.glob == null || FileSystems.getDefault().getPathMatcher("glob:" + r.glob)
                    .matches(Path.of(fileName))) {
                return r;
            }
        }
        return null;
    }

    /** The entries of a file's bytes, in file order, blank ones included (the caller counts and skips them). */
    List<Entry> entries(byte[] bytes) {
        List<int[]> lines = lines(bytes);
        List<Entry> out = new ArrayList<>();
        switch (kind) {
            case FILE -> out.add(new Entry(1, 0, lines.isEmpty() ? 0 : lines.get(lines.size() - 1)[1]));
            case LINE -> {
                for (int i = 0; i < lines.size(); i++) {
                    out.add(new Entry(i + 1, lines.get(i)[0], lines.get(i)[1]));
                }
            }
            case PARAGRAPH -> blocks(bytes, lines, l -> blank(bytes, l), out, false);
            case DELIMITER -> {
                byte[] d = delimiter.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                blocks(bytes, lines, l -> java.util.Arrays.equals(bytes, l[0], l[1], d, 0, d.length), out, true);
            }
            default -> throw new IllegalStateException("rule " + kind);
        }
        return out;
    }

    /**
     * Groups lines into blocks separated by the lines {@code separator} accepts; with {@code keepEmpty}, two
     * separators in a row (or one first) make an empty entry, which the caller then counts as blank.
     */
    private static void blocks(byte[] bytes, List<int[]> lines, java.util.function.Predicate<int[]> separator,
                               List<Entry> out, boolean keepEmpty) {
        int first = -1;
        int last = -1;
        int number = 0;
        boolean open = false;
        for (int[] l : lines) {
            if (separator.test(l)) {
                if (open || keepEmpty) {
                    out.add(new Entry(++number, open ? first : l[0], open ? last : l[0]));
                }
                open = false;
            } else {
                if (!open) {
                    first = l[0];
                }
                last = l[1];
                open = true;
            }
        }
        if (open) {
            out.add(new Entry(++number, first, last));
        }
    }

    /** Each line's bytes {@code [from, to)} without its {@code \n} or {@code \r\n}; no line after a final newline. */
    static List<int[]> lines(byte[] bytes) {
        List<int[]> lines = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= bytes.length; i++) {
            if (i == bytes.length || bytes[i] == '\n') {
                if (i == bytes.length && start == bytes.length) {
                    break;
                }
                int end = i > start && bytes[i - 1] == '\r' ? i - 1 : i;
                lines.add(new int[] {start, end});
                start = i + 1;
            }
        }
        return lines;
    }

    private static boolean blank(byte[] bytes, int[] line) {
        for (int i = line[0]; i < line[1]; i++) {
            if (bytes[i] != ' ' && bytes[i] != '\t' && bytes[i] != '\r' && bytes[i] != '\f') {
                return false;
            }
        }
        return true;
    }
}
