package org.distillery.model.text;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.distillery.model.nn.Models;

/**
 * A character-level vocabulary: token ids for Unicode code points, built on the training split and recorded in the
 * transfer set's manifest.
 *
 * <p>Ids: {@value #UNKNOWN} is {@link #UNKNOWN}, every code point the vocabulary lacks (one id, so that a student and
 * its teacher see the same ids for unseen characters, and the job can count them); {@value #BOUNDARY} is
 * {@link #BOUNDARY}, the document boundary (GPT-2's end-of-text plays the same part): every document is read as
 * {@code [BOUNDARY, its characters..., BOUNDARY]} ({@link Documents#stream}), so the model predicts each document's
 * first character from the boundary, predicts where a document ends, and sampling starts from a boundary and stops at
 * one. The vocabulary's code points follow in ascending order: code point {@code codePoints().get(i)} has id
 * {@code RESERVED + i}. {@link #size()} is the width V of an LM's output layer.
 *
 * <p>Manifest form: {@link #codePoints()}, a list of integers (no escaping questions, unlike a list of strings with
 * control characters); {@link #of} reads it back. {@link #sha256()} identifies the vocabulary: the lower-case hex
 * SHA-256 of the UTF-8 bytes of {@value #FORMAT}, a newline, and the code points in decimal joined by commas (e.g.
 * {@code "distillery.char-vocabulary/1\n10,32,97"}). The format string stands for the reserved ids above; a vocabulary
 * with other reserved ids must change it.
 */
public final class CharVocabulary implements Serializable {
    private static final long serialVersionUID = 1L;
    /** The id of every code point the vocabulary does not hold. */
    public static final int UNKNOWN = 0;
    /** The id of a document boundary, before a document's first character and after its last. */
    public static final int BOUNDARY = 1;
    /** How many ids come before the first code point's. */
    public static final int RESERVED = 2;
    /** Names the id layout above in {@link #sha256()}. */
    public static final String FORMAT = "distillery.char-vocabulary/1";
    /** What {@link #decode} writes for {@link #UNKNOWN}: U+FFFD, the replacement character. */
    public static final char UNKNOWN_TEXT = '\uFFFD';

    private final int[] codePoints;

    private CharVocabulary(int[] sortedCodePoints) {
        this.codePoints = sortedCodePoints;
    }

    /**
     * The vocabulary of a manifest: {@code codePoints} ascending, each once, each a Unicode scalar value (a code point
     * that is not a surrogate).
     */
    public static CharVocabulary of(List<Integer> codePoints) {
        if (codePoints == null) {
            throw new IllegalArgumentException("a character vocabulary needs a list of code points, got null");
        }
        int[] cps = new int[codePoints.size()];
        for (int i = 0; i < cps.length; i++) {
            Integer cp = codePoints.get(i);
            if (cp == null || !Character.isValidCodePoint(cp) || (cp >= 0xD800 && cp <= 0xDFFF)) {
                throw new IllegalArgumentException("vocabulary entry " + i + " is not a Unicode scalar value: " + cp);
            }
            if (i > 0 && cp <= cps[i - 1]) {
                throw new IllegalArgumentException("vocabulary code points must be ascending and distinct, got " + cp
                        + " after " + cps[i - 1] + " at entry " + i);
            }
            cps[i] = cp;
        }
        return new CharVocabulary(cps);
    }

    /**
     * The vocabulary of the code points counted at least {@code minCount} times; rarer ones become {@link #UNKNOWN}, so
     * that the training text has unknown characters to learn from. {@code counts} may be a merge of per-partition
     * {@link #count}s.
     */
    public static CharVocabulary fromCounts(Map<Integer, Long> counts, long minCount) {
        if (minCount < 1) {
            throw new IllegalArgumentException("minimum character count must be >= 1, got " + minCount);
        }
        return of(new TreeMap<>(counts).entrySet().stream().filter(e -> e.getValue() >= minCount)
                .map(Map.Entry::getKey).collect(Collectors.toList()));
    }

    /** How often each code point occurs in {@code text}. */
    public static Map<Integer, Long> count(String text) {
        Map<Integer, Long> counts = new TreeMap<>();
        text.codePoints().forEach(cp -> counts.merge(cp, 1L, Long::sum));
        return counts;
    }

    /** The vocabulary of every code point in {@code documents} seen at least {@code minCount} times. */
    public static CharVocabulary build(Iterable<String> documents, long minCount) {
        Map<Integer, Long> counts = new TreeMap<>();
        for (String d : documents) {
            count(d).forEach((cp, n) -> counts.merge(cp, n, Long::sum));
        }
        return fromCounts(counts, minCount);
    }

    /** V: the reserved ids plus one per code point. */
    public int size() {
        return RESERVED + codePoints.length;
    }

    /** The code points in id order (ids {@link #RESERVED} onwards): the manifest form. */
    public List<Integer> codePoints() {
        return Arrays.stream(codePoints).boxed().toList();
    }

    /** The id of {@code codePoint}, {@link #UNKNOWN} when the vocabulary lacks it. */
    public int id(int codePoint) {
        int i = Arrays.binarySearch(codePoints, codePoint);
        return i >= 0 ? RESERVED + i : UNKNOWN;
    }

    /** The code point of token {@code id}, -1 for the reserved ids. */
    public int codePoint(int id) {
        if (id < 0 || id >= size()) {
            throw new IllegalArgumentException("token id must be in [0, " + size() + "), got " + id);
        }
        return id < RESERVED ? -1 : codePoints[id - RESERVED];
    }

    /** One id per code point of {@code text} (no boundaries: see {@link Documents#stream}). */
    public int[] encode(String text) {
        return text.codePoints().map(this::id).toArray();
    }

    /** The text of {@code ids}: {@link #UNKNOWN} as U+FFFD, {@link #BOUNDARY} left out (it is not text). */
    public String decode(int[] ids) {
        StringBuilder s = new StringBuilder(ids.length);
        for (int id : ids) {
            if (id == UNKNOWN) {
                s.append(UNKNOWN_TEXT);
            } else if (id != BOUNDARY) {
                s.appendCodePoint(codePoint(id));
            }
        }
        return s.toString();
    }

    /** How many of {@code ids} are {@link #UNKNOWN}: the quality report's unknown-character count. */
    public static long unknown(int[] ids) {
        return Arrays.stream(ids).filter(id -> id == UNKNOWN).count();
    }

    /** The lower-case hex SHA-256 that identifies this vocabulary (see the class comment). */
    public String sha256() {
        String canonical = FORMAT + "\n" + Arrays.stream(codePoints).mapToObj(Integer::toString)
                .collect(Collectors.joining(","));
        return Models.sha256(canonical.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CharVocabulary other && Arrays.equals(codePoints, other.codePoints);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(codePoints);
    }

    @Override
    public String toString() {
        return "CharVocabulary(" + size() + " ids, sha256 " + sha256().substring(0, 12) + ")";
    }
}
