package org.distillery.jobs.train.averaging;

import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The averaging exchange's messages ({@link AveragingExchange}), little-endian. A worker's hello: magic, the session's
 * secret, its stage attempt, its index and the number of workers. An epoch's order, from the exchange: the number of
 * rounds (-1: the session is over, nothing follows), the round indices, and the epoch's start state as Java
 * serialisation writes it (its length, then the bytes). A round's sum: its count; then, if the count is above 0, the
 * score, the parameter and updater lengths (-1: no updater state) and the floats.
 */
final class ExchangeWire {
    private static final int MAGIC = 0x44535832; // "DSX2"
    /** Rounds an order may name: far above any epoch's (a round is at least one minibatch per worker). */
    private static final int MAX_ROUNDS = 1 << 24;
    static final int SECRET_BYTES = 32;
    private static final int HELLO_BYTES = 4 + SECRET_BYTES + 4 + 4 + 4;
    private static final int HEADER_BYTES = 4 + 8 + 4 + 4; // count, score, params length, updater length (-1: none)

    private ExchangeWire() {
    }

    /** Thrown when an attempt must stop: the exchange closed or a newer attempt's worker arrived. */
    static final class Ended extends Exception {
        Ended(String why) {
            super(why, null, false, false);
        }
    }

    /** Asked while a read waits: throws to stop waiting; returns normally to go on. */
    @FunctionalInterface
    interface Interrupt {
        void check() throws Ended;
    }

    /** A worker's first message: the epoch's secret, its stage attempt, its index and the number of workers. */
    record Hello(byte[] secret, int attempt, int worker, int workers) {
        byte[] bytes() {
            ByteBuffer b = ByteBuffer.allocate(HELLO_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(MAGIC).put(secret).putInt(attempt).putInt(worker).putInt(workers);
            return b.array();
        }

        /** The hello that {@code in} sends, or null if what it sends is not one. */
        static Hello read(InputStream in, Interrupt ended) throws IOException, Ended {
            byte[] hello = new byte[HELLO_BYTES];
            readFully(in, hello, ended);
            ByteBuffer b = ByteBuffer.wrap(hello).order(ByteOrder.LITTLE_ENDIAN);
            int magic = b.getInt();
            byte[] secret = new byte[SECRET_BYTES];
            b.get(secret);
            int attempt = b.getInt();
            int worker = b.getInt();
            int workers = b.getInt();
            return magic == MAGIC ? new Hello(secret, attempt, worker, workers) : null;
        }
    }

    /** An epoch's order as it travels: its rounds and its start state, serialised; null rounds end the session. */
    static byte[] encodeOrder(int[] rounds, byte[] start) {
        if (rounds == null) {
            return new byte[] {-1, -1, -1, -1};
        }
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * rounds.length + 4 + start.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(rounds.length);
        for (int r : rounds) {
            b.putInt(r);
        }
        b.putInt(start.length).put(start);
        return b.array();
    }

    /** An epoch's order as read by a worker: its rounds and serialised start state; null at the session's end. */
    record WireOrder(int[] rounds, byte[] start) {
    }

    /** Reads the exchange's next order; null when it ends the session. */
    static WireOrder readOrder(InputStream in, Interrupt ended, String from) throws IOException, Ended {
        int n = readInt(in, ended);
        if (n == -1) {
            return null;
        }
        if (n < 0 || n > MAX_ROUNDS) {
            throw new IOException("unexpected order from " + from + ": " + n + " rounds");
        }
        byte[] rounds = new byte[4 * n];
        readFully(in, rounds, ended);
        int[] r = new int[n];
        ByteBuffer.wrap(rounds).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(r);
        int length = readInt(in, ended);
        if (length < 0) {
            throw new IOException("unexpected order from " + from + ": start state of " + length + " bytes");
        }
        byte[] start = new byte[length];
        readFully(in, start, ended);
        return new WireOrder(r, start);
    }

    private static int readInt(InputStream in, Interrupt ended) throws IOException, Ended {
        byte[] b = new byte[4];
        readFully(in, b, ended);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    /** A sum as it travels; an empty one is its count alone. */
    static byte[] encode(RoundSum sum) {
        if (sum.count == 0) {
            return new byte[] {0, 0, 0, 0};
        }
        int u = sum.updater == null ? -1 : sum.updater.length;
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + 4 * (sum.params.length + Math.max(u, 0)))
                .order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(sum.count).putDouble(sum.score).putInt(sum.params.length).putInt(u);
        b.asFloatBuffer().put(sum.params);
        if (u >= 0) {
            b.position(HEADER_BYTES + 4 * sum.params.length);
            b.asFloatBuffer().put(sum.updater);
        }
        return b.array();
    }

    /** Reads a sum of the expected sizes from {@code from}; one of other sizes is refused. */
    static RoundSum read(InputStream in, int paramCount, int updaterCount, Interrupt ended, String from)
            throws IOException, Ended {
        int n = readInt(in, ended);
        if (n == 0) {
            return RoundSum.EMPTY;
        }
        byte[] header = new byte[HEADER_BYTES - 4];
        readFully(in, header, ended);
        ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        double score = h.getDouble();
        int p = h.getInt();
        int u = h.getInt();
        checkSizes(n, p, u, paramCount, updaterCount, from); // before a body of that size is allocated
        byte[] body = new byte[4 * (p + Math.max(u, 0))];
        readFully(in, body, ended);
        ByteBuffer b = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN);
        float[] params = new float[p];
        b.asFloatBuffer().get(params);
        float[] updater = null;
        if (u >= 0) {
            updater = new float[u];
            b.position(4 * p);
            b.asFloatBuffer().get(updater);
        }
        return RoundSum.of(params, updater, score, n);
    }

    /** {@code sum} if it has the expected sizes (as {@link #read} checks them on the wire), else an exception. */
    static RoundSum checked(RoundSum sum, int paramCount, int updaterCount, String from) throws IOException {
        if (sum.count == 0) {
            return sum;
        }
        checkSizes(sum.count, sum.params.length, sum.updater == null ? -1 : sum.updater.length, paramCount,
                updaterCount, from);
        return sum;
    }

    /** Refuses a message of {@code count} sums, {@code p} parameters and {@code u} updater values (-1: none). */
    private static void checkSizes(int count, int p, int u, int paramCount, int updaterCount, String from)
            throws IOException {
        if (count < 0 || p != paramCount || u != updaterCount) {
            throw new IOException("unexpected message from " + from + ": count " + count + ", " + p + " parameters and "
                    + u + " updater values, expected " + paramCount + " and " + updaterCount);
        }
    }

    /** Fills {@code b}, asking {@code ended} each time the socket's read timeout passes. */
    static void readFully(InputStream in, byte[] b, Interrupt ended) throws IOException, Ended {
        int len = b.length;
        int done = 0;
        while (done < len) {
            int n;
            try {
                n = in.read(b, done, len - done);
            } catch (SocketTimeoutException e) {
                ended.check();
                continue;
            }
            if (n < 0) {
                throw new IOException("connection closed after " + done + " of " + len + " bytes");
            }
            done += n;
        }
    }
}
