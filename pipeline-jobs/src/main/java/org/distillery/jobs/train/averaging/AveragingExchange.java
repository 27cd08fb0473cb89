package org.distillery.jobs.train.averaging;

import static org.distillery.jobs.train.averaging.ExchangeWire.SECRET_BYTES;
import static org.distillery.jobs.train.averaging.ExchangeWire.encode;
import static org.distillery.jobs.train.averaging.ExchangeWire.encodeOrder;
import static org.distillery.jobs.train.averaging.ExchangeWire.read;
import static org.distillery.jobs.train.averaging.ExchangeWire.readOrder;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.JavaSerializer;
import org.distillery.jobs.train.averaging.ExchangeWire.Ended;
import org.distillery.jobs.train.averaging.ExchangeWire.Hello;
import org.distillery.jobs.train.averaging.ExchangeWire.Interrupt;
import org.distillery.jobs.train.averaging.ExchangeWire.WireOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * The driver's end of {@link ExchangeRounds}: a small TCP server that hands the workers the epochs the driver orders
 * and averages their results round by round, as a round job's driver would. An epoch's order (its rounds and start
 * state) goes to every worker; per round each worker sends its {@link RoundSum} (parameters, updater state, score) and
 * waits; when all have, the server sums them in worker order, divides by the workers that had data (DL4J's averaging,
 * the same float operations in the same order as {@link RoundMaster}), and sends the result back to each. The epoch's
 * outcome (its last averages, its scores) completes the order, and the driver sets it on its network; the workers wait
 * for the next order, or the end of the session. The same pattern as XGBoost4J-Spark's tracker: a side channel from the
 * executors to the driver, with only public Spark API. A worker whose task runs in the driver's JVM (a local master)
 * finds the exchange there and passes its sums through in-process queues instead of the socket: the same messages,
 * checks and order, without encoding 4 bytes per float and copying them through the loopback stack twice per round (an
 * order's start state is passed as it is, for the workers to read).
 *
 * <p>Trust and failure: a worker proves it belongs to this session with a random secret that travels in the task
 * (Spark's own channel, authenticated and encrypted when the cluster is); messages of the wrong size are refused.
 * The channel itself is plain TCP: {@link RoundRunners} does not pick it on clusters that encrypt Spark's
 * traffic. A worker whose connection is lost (its task failed, its executor died) ends the attempt: the exchange
 * closes the other workers' connections, so their tasks fail at once rather than wait for a round that cannot
 * come. Spark does not retry a failed barrier result stage (the job fails and the trainer runs the epoch again as
 * round jobs), but should a newer stage attempt come, its first worker ends the older attempt the same way and the
 * unfinished epoch starts over from its order: workers say their stage attempt when they connect.
 */
final class AveragingExchange implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(AveragingExchange.class);
    /** How an order's start state travels to executors: Java serialisation, as Spark ships a task. */
    private static final JavaSerializer START_SERIALISER = new JavaSerializer(new SparkConf(false));
    private static final ClassTag<Object> ANY = ClassTag$.MODULE$.apply(Object.class);
    /** Socket reads wake up this often to see whether the attempt (worker: the task) was ended meanwhile. */
    static final int POLL_MILLIS = 500;

    /** What a worker needs to reach the exchange; travels in the task. */
    record Ticket(String host, int port, byte[] secret, int workers) implements Serializable {
        @Override
        public String toString() {
            return host + ":" + port; // never the secret
        }
    }

    /**
     * An epoch as averaged by the attempt that finished every round: the last round with data's averages (null if no
     * round had data), how many rounds had data, and the score after each round.
     */
    record Outcome(int attempt, RoundSum averages, int roundsWithData, double[] scores) {
    }

    /**
     * An epoch the driver orders: its round indices in order, its start state (what the workers build their first
     * round from), the score reported for rounds before its first with data; completed with its {@link Outcome}, or
     * exceptionally when the exchange closes first. An order without rounds ends the session.
     */
    static final class Order {
        private final int[] rounds;
        private final Serializable start;
        private final double startScore;
        private final CompletableFuture<Outcome> outcome = new CompletableFuture<>();
        private byte[] bytes;

        private Order(int[] rounds, Serializable start, double startScore) {
            this.rounds = rounds;
            this.start = start;
            this.startScore = startScore;
        }

        CompletableFuture<Outcome> outcome() {
            return outcome;
        }

        /** The order as it travels to a worker over TCP, encoded once for all. */
        private byte[] bytes() {
            if (bytes == null) {
                bytes = encodeOrder(rounds, rounds == null ? null : serialise(start));
            }
            return bytes;
        }
    }

    /** What a worker receives for an epoch: its rounds and start state; {@code owned} if this worker's own copy. */
    record Epoch(int[] rounds, Object start, boolean owned) {
    }

    /** The exchanges open in this JVM, by port: what a worker in the driver's JVM reaches without a socket. */
    private static final Map<Integer, AveragingExchange> IN_THIS_JVM = new ConcurrentHashMap<>();

    private final ServerSocket server;
    private final Ticket ticket;
    private final int workers;
    private final int paramCount;
    private final int updaterCount;
    private final BlockingQueue<Peer> arrivals = new LinkedBlockingQueue<>();
    private final BlockingQueue<Order> orders = new LinkedBlockingQueue<>();
    private final Thread acceptor;
    private final Thread coordinator;
    private volatile boolean closed;
    private Order current; // the coordinator's: the order being served, until it completes

    private AveragingExchange(ServerSocket server, String host, int workers, int paramCount, int updaterCount) {
        this.server = server;
        byte[] secret = new byte[SECRET_BYTES];
        new SecureRandom().nextBytes(secret);
        this.ticket = new Ticket(host, server.getLocalPort(), secret, workers);
        this.workers = workers;
        this.paramCount = paramCount;
        this.updaterCount = updaterCount;
        this.acceptor = daemon(this::accept, "distillery-exchange-accept");
        this.coordinator = daemon(this::coordinate, "distillery-exchange");
    }

    /**
     * Opens an exchange for a session of {@code workers} workers, listening on {@code bindHost}:{@code port} (0: any
     * free port) and reached by workers at {@code host}. {@code updaterCount} is -1 for updaters without state.
     */
    static AveragingExchange open(String host, String bindHost, int port, int workers, int paramCount,
                                  int updaterCount) {
        ServerSocket server = null;
        try {
            server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(InetAddress.getByName(bindHost), port), workers * 2);
            AveragingExchange exchange = new AveragingExchange(server, host, workers, paramCount, updaterCount);
            exchange.acceptor.start();
            exchange.coordinator.start();
            IN_THIS_JVM.put(exchange.ticket.port(), exchange);
            LOG.debug("averaging exchange listening on {} for {} workers", exchange.ticket, workers);
            return exchange;
        } catch (IOException e) {
            quietly(server);
            throw new IllegalStateException("cannot open the averaging exchange on " + bindHost + ":" + port + ": "
                    + e.getMessage(), e);
        }
    }

    Ticket ticket() {
        return ticket;
    }

    /**
     * Orders an epoch of {@code rounds} (round indices, in order) from {@code start}; {@code startScore} is the score
     * reported for rounds before its first with data. Its outcome completes the returned order.
     */
    Order order(int[] rounds, Serializable start, double startScore) {
        Order o = new Order(rounds.clone(), start, startScore);
        orders.add(o);
        if (closed) { // closed meanwhile: nobody serves it
            o.outcome.completeExceptionally(new IllegalStateException("the averaging exchange closed"));
        }
        return o;
    }

    /** Ends the session once the orders before it are served: the workers' tasks then return. */
    void end() {
        orders.add(new Order(null, null, Double.NaN));
    }

    @Override
    public void close() {
        closed = true;
        IN_THIS_JVM.remove(ticket.port(), this);
        quietly(server);
        acceptor.interrupt();
        coordinator.interrupt();
        try {
            acceptor.join(5_000);
            coordinator.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Peer p;
        while ((p = arrivals.poll()) != null) {
            p.close();
        }
        IllegalStateException why = new IllegalStateException("the averaging exchange closed");
        if (current != null) { // the coordinator has stopped: its field is this thread's to read
            current.outcome.completeExceptionally(why);
        }
        Order o;
        while ((o = orders.poll()) != null) {
            o.outcome.completeExceptionally(why);
        }
    }

    private static void quietly(Closeable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException e) {
            LOG.debug("closing {}: {}", c, e.toString());
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** A worker's connection, after its hello. */
    private record Peer(Link link, int attempt, int worker) {
        void close() {
            link.close();
        }
    }

    /** The exchange's end of one worker's connection. */
    private interface Link {
        /** The worker's next sum, checked for size; {@code ended} is asked while waiting. */
        RoundSum receive(int paramCount, int updaterCount, Interrupt ended, String from) throws IOException, Ended;

        void send(Reply reply) throws IOException;

        void send(Order order) throws IOException;

        void close();
    }

    /** A round's reply to every worker, encoded for the socket at most once. */
    private static final class Reply {
        private final RoundSum sum;
        private byte[] bytes;

        Reply(RoundSum sum) {
            this.sum = sum;
        }

        byte[] bytes() {
            if (bytes == null) {
                bytes = encode(sum);
            }
            return bytes;
        }
    }

    /** A worker connected over TCP. */
    private record SocketLink(Socket socket, InputStream in, OutputStream out) implements Link {
        @Override
        public RoundSum receive(int paramCount, int updaterCount, Interrupt ended, String from)
                throws IOException, Ended {
            return read(in, paramCount, updaterCount, ended, from);
        }

        @Override
        public void send(Reply reply) throws IOException {
            out.write(reply.bytes());
            out.flush();
        }

        @Override
        public void send(Order order) throws IOException {
            out.write(order.bytes());
            out.flush();
        }

        @Override
        public void close() {
            quietly(socket);
        }
    }

    /**
     * A worker in this JVM: a queue each way. Closing puts an end mark on both, which the side waiting there reads
     * as a closed connection (and leaves for the next read), as a socket's close would be read.
     */
    private static final class Queues implements Link {
        private static final Object END = new Object();
        private final BlockingQueue<Object> toExchange = new LinkedBlockingQueue<>();
        private final BlockingQueue<Object> toWorker = new LinkedBlockingQueue<>();

        @Override
        public RoundSum receive(int paramCount, int updaterCount, Interrupt ended, String from)
                throws IOException, Ended {
            return ExchangeWire.checked(as(RoundSum.class, take(toExchange, ended, from), from), paramCount,
                    updaterCount, from);
        }

        @Override
        public void send(Reply reply) {
            toWorker.add(reply.sum);
        }

        @Override
        public void send(Order order) {
            toWorker.add(order);
        }

        @Override
        public void close() {
            toExchange.add(END);
            toWorker.add(END);
        }

        /** {@code m} as a {@code type}, or the exception a message out of turn on the wire gives. */
        private static <T> T as(Class<T> type, Object m, String from) throws IOException {
            if (!type.isInstance(m)) {
                throw new IOException("unexpected message from " + from + ": " + m.getClass().getSimpleName()
                        + " where a " + type.getSimpleName() + " belongs");
            }
            return type.cast(m);
        }

        private static Object take(BlockingQueue<Object> queue, Interrupt ended, String from)
                throws IOException, Ended {
            while (true) {
                Object m;
                try {
                    m = queue.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for " + from);
                }
                if (m == null) {
                    ended.check();
                } else if (m == END) {
                    queue.add(END);
                    throw new IOException("connection to " + from + " closed");
                } else {
                    return m;
                }
            }
        }
    }

    private void accept() {
        while (!closed) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("averaging exchange stopped accepting workers: {}", e.toString());
                }
                return;
            }
            try {
                s.setTcpNoDelay(true);
                s.setSoTimeout(POLL_MILLIS);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                Hello h = Hello.read(s.getInputStream(), () -> {
                    if (closed || System.nanoTime() > deadline) {
                        throw new Ended("no hello within 10 s");
                    }
                });
                if (!admit(h, new SocketLink(s, s.getInputStream(), s.getOutputStream()), s.getRemoteSocketAddress())) {
                    s.close();
                }
            } catch (IOException | Ended e) {
                LOG.warn("averaging exchange dropped a connection from {}: {}", s.getRemoteSocketAddress(),
                        e.toString());
                quietly(s);
            }
        }
    }

    /** Takes a worker that said {@code h} over {@code link} into the next attempt, if it is one of this session's. */
    private boolean admit(Hello h, Link link, Object from) {
        if (h == null || !MessageDigest.isEqual(h.secret(), ticket.secret()) || h.workers() != workers
                || h.worker() < 0 || h.worker() >= workers || h.attempt() < 0) {
            LOG.warn("averaging exchange refused a connection from {}: not a worker of this session", from);
            return false;
        }
        arrivals.add(new Peer(link, h.attempt(), h.worker()));
        return true;
    }

    /**
     * Gathers the workers of the newest attempt, then serves them the driver's orders until one ends the session; an
     * attempt that breaks waits for the next, which starts over from the unfinished order.
     */
    private void coordinate() {
        Peer[] peers = new Peer[workers];
        int attempt = -1;
        int present = 0;
        boolean over = false;
        while (!closed && !over) {
            Peer p;
            try {
                p = arrivals.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                break;
            }
            if (p == null) {
                continue;
            }
            if (p.attempt() < attempt) {
                p.close();
                continue;
            }
            if (p.attempt() > attempt) {
                closeAll(peers);
                present = 0;
                attempt = p.attempt();
            }
            if (peers[p.worker()] != null) {
                peers[p.worker()].close(); // the same worker again: keep the newest connection
                present--;
            }
            peers[p.worker()] = p;
            if (++present < workers) {
                continue;
            }
            try {
                serve(peers, attempt);
                over = true;
                LOG.debug("averaging exchange: attempt {} ended the session", attempt);
            } catch (IOException | Ended e) {
                if (!closed) {
                    LOG.warn("averaging exchange: stage attempt {} ended before the session's end ({})", attempt,
                            e.getMessage());
                }
            } catch (RuntimeException e) { // e.g. a start state that does not serialise: no attempt can serve it
                LOG.error("averaging exchange failed: {}", e.toString());
                if (current != null) {
                    current.outcome.completeExceptionally(e);
                    current = null;
                }
                over = true;
            } finally {
                closeAll(peers);
                present = 0;
            }
        }
        closeAll(peers);
    }

    private static void closeAll(Peer[] peers) {
        for (int w = 0; w < peers.length; w++) {
            if (peers[w] != null) {
                peers[w].close();
                peers[w] = null;
            }
        }
    }

    /** Serves an attempt the driver's orders, each epoch's rounds, until an order ends the session. */
    private void serve(Peer[] peers, int attempt) throws IOException, Ended {
        Interrupt ended = () -> {
            if (closed) {
                throw new Ended("the exchange closed");
            }
            Peer next = arrivals.peek();
            if (next != null && next.attempt() > attempt) {
                throw new Ended("stage attempt " + next.attempt() + " started");
            }
        };
        while (true) {
            while (current == null) {
                try {
                    current = orders.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    throw new Ended("the exchange closed");
                }
                if (current == null) {
                    ended.check();
                }
            }
            for (Peer p : peers) {
                p.link().send(current);
            }
            Order order = current;
            if (order.rounds == null) {
                current = null;
                order.outcome.complete(null);
                return;
            }
            Outcome outcome = rounds(peers, attempt, order, ended);
            current = null;
            order.outcome.complete(outcome);
        }
    }

    /** Runs an epoch's rounds for an attempt. */
    private Outcome rounds(Peer[] peers, int attempt, Order order, Interrupt ended) throws IOException, Ended {
        int rounds = order.rounds.length;
        double score = order.startScore;
        double[] scores = new double[rounds];
        RoundSum averages = null;
        int withData = 0;
        RoundProgress progress = new RoundProgress("averaging exchange", rounds);
        for (int r = 0; r < rounds; r++) {
            RoundSum total = RoundSum.EMPTY;
            for (Peer p : peers) { // in worker order, as a round job sums its partitions
                total = total.add(p.link().receive(paramCount, updaterCount, ended, "worker " + p.worker()));
            }
            if (total.count > 0) {
                score = total.score / total.count;
                averages = RoundSum.of(total.averaged().params, total.updater, score, total.count);
                withData++;
            }
            scores[r] = score;
            progress.averaged(r + 1, score);
            Reply reply = new Reply(total.count == 0 ? total : averages);
            for (Peer p : peers) {
                p.link().send(reply);
            }
        }
        return new Outcome(attempt, averages, withData, scores);
    }

    /** {@code start} as Java serialisation writes it, for workers over TCP. */
    private static byte[] serialise(Serializable start) {
        ByteBuffer b;
        try {
            b = START_SERIALISER.newInstance().serialize(start, ANY);
        } catch (Exception e) { // Spark's Scala code throws the stream's IOException undeclared
            throw new IllegalStateException("cannot serialise the epoch's start state: " + e, e);
        }
        byte[] bytes = new byte[b.remaining()];
        b.get(bytes);
        return bytes;
    }

    /** The start state a worker reads back, its classes resolved as the task's own (the application's jar). */
    private static Object deserialise(byte[] bytes) throws IOException {
        try {
            return START_SERIALISER.newInstance().deserialize(ByteBuffer.wrap(bytes),
                    Thread.currentThread().getContextClassLoader(), ANY);
        } catch (Exception e) { // ClassNotFoundException or the stream's IOException, undeclared
            throw new IOException("cannot read the epoch's start state: " + e, e);
        }
    }

    // ---- the worker's end ----

    /**
     * A worker's connection to the exchange, for one task: through in-process queues when the exchange is open in this
     * JVM (a local master), else over TCP.
     */
    static final class Client implements Closeable {
        private final Socket socket; // null in-process
        private final InputStream in;
        private final OutputStream out;
        private final Queues queues; // null over TCP
        private final Ticket ticket;
        private final int paramCount;
        private final int updaterCount;

        /** Connects and says which attempt and worker it is. */
        Client(Ticket ticket, int attempt, int worker, int paramCount, int updaterCount) {
            this(ticket, attempt, worker, paramCount, updaterCount, true);
        }

        /** As above; with {@code inProcess} false over TCP even when the exchange is in this JVM (tests). */
        Client(Ticket ticket, int attempt, int worker, int paramCount, int updaterCount, boolean inProcess) {
            this.ticket = ticket;
            this.paramCount = paramCount;
            this.updaterCount = updaterCount;
            Hello hello = new Hello(ticket.secret(), attempt, worker, ticket.workers());
            AveragingExchange here = inProcess ? IN_THIS_JVM.get(ticket.port()) : null;
            if (here != null && MessageDigest.isEqual(here.ticket.secret(), ticket.secret())) {
                this.queues = new Queues();
                this.socket = null;
                this.in = null;
                this.out = null;
                if (!here.admit(hello, queues, "worker " + worker + " in this JVM")) {
                    queues.close();
                }
                return;
            }
            this.queues = null;
            Socket s = new Socket();
            try {
                s.setTcpNoDelay(true);
                s.connect(new InetSocketAddress(ticket.host(), ticket.port()), 10_000);
                s.setSoTimeout(POLL_MILLIS);
                this.socket = s;
                this.in = s.getInputStream();
                this.out = s.getOutputStream();
                out.write(hello.bytes());
                out.flush();
            } catch (IOException e) {
                quietly(s);
                throw new IllegalStateException("worker " + worker + " cannot reach the driver's averaging exchange"
                        + " at " + ticket + " (" + e.getMessage() + "); open that port to the executors"
                        + " (spark.distillery.exchange.port fixes it) or train with --rounds jobs", e);
            }
        }

        /**
         * The next epoch's order, null when the session is over; {@code killed} is asked while waiting and throws when
         * the task was killed. In-process, the start state is the driver's, shared with the other workers: read it, do
         * not change it; over TCP it is this worker's own copy.
         */
        Epoch next(Interrupt killed) {
            String from = "the exchange at " + ticket;
            try {
                if (queues != null) {
                    Order o = Queues.as(Order.class, Queues.take(queues.toWorker, killed, from), from);
                    return o.rounds == null ? null : new Epoch(o.rounds, o.start, false);
                }
                WireOrder o = readOrder(in, killed, from);
                return o == null ? null : new Epoch(o.rounds(), deserialise(o.start()), true);
            } catch (IOException | Ended e) {
                throw new IllegalStateException("the averaging exchange at " + ticket + " ended this worker's session"
                        + " before its next epoch: " + e.getMessage(), e);
            }
        }

        /**
         * Sends this worker's sum and returns the round's averages (count 0: no worker had data); {@code killed} is
         * asked while waiting and throws when the task was killed. In-process, the averages are shared with the other
         * workers: read them, do not change them.
         */
        RoundSum exchange(RoundSum mine, Interrupt killed) {
            try {
                if (queues != null) {
                    queues.toExchange.add(mine);
                    String from = "the exchange at " + ticket;
                    return Queues.as(RoundSum.class, Queues.take(queues.toWorker, killed, from), from);
                }
                out.write(encode(mine));
                out.flush();
                return read(in, paramCount, updaterCount, killed, "the exchange at " + ticket);
            } catch (IOException | Ended e) {
                throw new IllegalStateException("the averaging exchange at " + ticket + " ended this worker's round: "
                        + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            if (queues != null) {
                queues.close();
            } else {
                quietly(socket);
            }
        }
    }
}
