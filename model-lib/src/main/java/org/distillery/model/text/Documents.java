package org.distillery.model.text;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * A corpus's documents checked at the boundary, and turned into token streams.
 *
 * <p>Documents must be decoded here from their bytes: a reader that decodes for us (Spark's {@code text} source,
 * {@code new String(bytes, UTF_8)}) silently replaces invalid UTF-8 with U+FFFD, and the damage could no longer be told
 * from a real U+FFFD. Each refusal is one line naming the document, e.g.
 * {@code document 'jargon:17' is not valid UTF-8: malformed input of 1 byte at byte 42}.
 */
public final class Documents {
    private Documents() {
    }

    /**
     * The text of document {@code id} from its UTF-8 bytes (a leading byte-order mark is kept as U+FEFF).
     *
     * @throws IllegalArgumentException naming the document when the bytes are not valid UTF-8 or there are none
     */
    public static String decode(String id, byte[] utf8) {
        return decode(id, utf8, 0, utf8.length);
    }

    /**
     * The text of document {@code id} held in {@code bytes[from, to)} (e.g. one entry of a corpus file, read whole):
     * as {@link #decode(String, byte[])}, but a refusal names the offset in {@code bytes}, i.e. in the file.
     *
     * @throws IllegalArgumentException naming the document when the bytes are not valid UTF-8 or there are none
     */
    public static String decode(String id, byte[] bytes, int from, int to) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes, from, to - from);
        CharBuffer out = CharBuffer.allocate(to - from);
        CoderResult r = decoder.decode(in, out, true);
        if (r.isUnderflow()) {
            r = decoder.flush(out);
        }
        if (r.isError()) {
            throw new IllegalArgumentException("document '" + id + "' is not valid UTF-8: "
                    + (r.isMalformed() ? "malformed" : "unmappable") + " input of " + r.length() + " byte"
                    + (r.length() == 1 ? "" : "s") + " at byte " + in.position());
        }
        return check(id, out.flip().toString());
    }

    /**
     * {@code text} when it is a non-empty document of Unicode scalar values (no unpaired surrogate, which no valid
     * UTF-8 could have produced).
     *
     * @throws IllegalArgumentException naming the document otherwise
     */
    public static String check(String id, String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("document '" + id + "' is empty");
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException("document '" + id + "' is not valid Unicode: unpaired surrogate U+"
                        + Integer.toHexString(c).toUpperCase(java.util.Locale.ROOT) + " at char " + i);
            }
        }
        return text;
    }

    /**
     * The token stream of a checked document: {@code [BOUNDARY, ids of its characters..., BOUNDARY]}, of length
     * {@code codePoints + 2}; {@link Windowing#cut} turns it into windows.
     */
    public static int[] stream(CharVocabulary vocabulary, String id, String text) {
        int[] ids = vocabulary.encode(check(id, text));
        int[] stream = new int[ids.length + 2];
        stream[0] = CharVocabulary.BOUNDARY;
        System.arraycopy(ids, 0, stream, 1, ids.length);
        stream[stream.length - 1] = CharVocabulary.BOUNDARY;
        return stream;
    }
}
