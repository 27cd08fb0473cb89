package org.distillery.model.nn;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Just enough of ONNX's protobuf encoding to recognise a model and to name the operator behind a graph output, without
 * a protobuf dependency, and to list the external data files a model names. Field numbers from onnx.proto:
 * ModelProto.ir_version = 1, graph = 7; GraphProto.node = 1, initializer = 5; NodeProto.output = 2, op_type = 4,
 * attribute = 5, domain = 7; AttributeProto.t = 5, tensors = 10; TensorProto.external_data = 13 (key = 1, value = 2).
 * Initializers and other large fields are skipped, not copied.
 */
final class OnnxGraph {
    private static final int WIRE_VARINT = 0;
    private static final int WIRE_I64 = 1;
    private static final int WIRE_LEN = 2;
    private static final int WIRE_I32 = 5;

    private OnnxGraph() {
    }

    /** One field of a protobuf message: a varint's value, or a length-delimited payload's bounds [from, to). */
    private record Field(int number, int wire, long value, int from, int to) {
        String text(byte[] b) {
            return new String(b, from, to - from, StandardCharsets.UTF_8);
        }
    }

    /** Whether {@code bytes} parse as an ONNX ModelProto: an IR version and a graph that parses too. */
    static boolean parses(byte[] bytes) {
        try {
            List<Field> model = fields(bytes, 0, bytes.length);
            Field graph = graph(model);
            return graph != null && model.stream().anyMatch(f -> f.number() == 1 && f.wire() == WIRE_VARINT)
                    && !fields(bytes, graph.from(), graph.to()).isEmpty();
        } catch (IllegalStateException e) {
            return false;
        }
    }

    /**
     * The operator type ("Softmax", "Add", ...; "domain:Type" outside the default domain) of the node that produces
     * {@code output}, or "" when no node does (the output is an input or an initializer).
     *
     * @throws IllegalStateException when the bytes are not a well-formed ONNX model
     */
    static String producer(byte[] model, String output) {
        Field graph = graph(fields(model, 0, model.length));
        if (graph == null) {
            throw new IllegalStateException("no graph in the ONNX model");
        }
        for (Field node : fields(model, graph.from(), graph.to())) {
            if (node.number() != 1 || node.wire() != WIRE_LEN) {
                continue;
            }
            boolean produces = false;
            String op = "";
            String domain = "";
            for (Field f : fields(model, node.from(), node.to())) {
                if (f.wire() == WIRE_LEN) {
                    switch (f.number()) {
                        case 2 -> produces |= f.text(model).equals(output);
                        case 4 -> op = f.text(model);
                        case 7 -> domain = f.text(model);
                        default -> { }
                    }
                }
            }
            if (produces) {
                return domain.isEmpty() || domain.equals("ai.onnx") ? op : domain + ":" + op;
            }
        }
        return "";
    }

    /**
     * The locations (relative paths, as the model records them) of the external data files that the main graph's
     * initializers and node attributes name: where {@code torch.onnx.export} and {@code onnx.save} put tensors kept
     * outside the model file. Empty for a self-contained model.
     *
     * @throws IllegalStateException when the bytes are not a well-formed ONNX model
     */
    static java.util.SortedSet<String> externalData(byte[] model) {
        Field graph = graph(fields(model, 0, model.length));
        java.util.SortedSet<String> locations = new java.util.TreeSet<>();
        if (graph == null) {
            return locations;
        }
        for (Field f : fields(model, graph.from(), graph.to())) {
            if (f.wire() != WIRE_LEN) {
                continue;
            }
            if (f.number() == 5) {
                location(model, f).ifPresent(locations::add);
            } else if (f.number() == 1) {
                for (Field attribute : fields(model, f.from(), f.to())) {
                    if (attribute.number() == 5 && attribute.wire() == WIRE_LEN) {
                        for (Field a : fields(model, attribute.from(), attribute.to())) {
                            if ((a.number() == 5 || a.number() == 10) && a.wire() == WIRE_LEN) {
                                location(model, a).ifPresent(locations::add);
                            }
                        }
                    }
                }
            }
        }
        return locations;
    }

    /** The "location" entry of a TensorProto's external_data, if it has one. */
    private static java.util.Optional<String> location(byte[] model, Field tensor) {
        for (Field f : fields(model, tensor.from(), tensor.to())) {
            if (f.number() == 13 && f.wire() == WIRE_LEN) {
                String key = null;
                String value = null;
                for (Field entry : fields(model, f.from(), f.to())) {
                    if (entry.wire() == WIRE_LEN && entry.number() == 1) {
                        key = entry.text(model);
                    } else if (entry.wire() == WIRE_LEN && entry.number() == 2) {
                        value = entry.text(model);
                    }
                }
                if ("location".equals(key) && value != null) {
                    return java.util.Optional.of(value);
                }
            }
        }
        return java.util.Optional.empty();
    }

    private static Field graph(List<Field> model) {
        Field graph = null;
        for (Field f : model) {
            if (f.number() == 7 && f.wire() == WIRE_LEN) {
                graph = f;
            }
        }
        return graph;
    }

    /** The fields of the message in {@code b[from, to)}; IllegalStateException when it is not protobuf. */
    private static List<Field> fields(byte[] b, int from, int to) {
        List<Field> out = new ArrayList<>();
        int[] pos = {from};
        while (pos[0] < to) {
            long key = varint(b, pos, to);
            int number = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (number <= 0 || key >>> 32 != 0) {
                throw new IllegalStateException("bad field key " + key + " at byte " + pos[0]);
            }
            switch (wire) {
                case WIRE_VARINT -> out.add(new Field(number, wire, varint(b, pos, to), 0, 0));
                case WIRE_I64, WIRE_I32 -> pos[0] = skip(pos[0], wire == WIRE_I64 ? 8 : 4, to);
                case WIRE_LEN -> {
                    long length = varint(b, pos, to);
                    int start = pos[0];
                    pos[0] = skip(start, length, to);
                    out.add(new Field(number, wire, length, start, pos[0]));
                }
                default -> throw new IllegalStateException("unsupported wire type " + wire + " at byte " + pos[0]);
            }
        }
        return out;
    }

    private static int skip(int at, long length, int to) {
        if (length < 0 || length > to - at) {
            throw new IllegalStateException("field of " + length + " bytes overruns its message at byte " + at);
        }
        return at + (int) length;
    }

    private static long varint(byte[] b, int[] pos, int to) {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos[0] >= to) {
                throw new IllegalStateException("truncated varint at byte " + pos[0]);
            }
            byte next = b[pos[0]++];
            value |= (long) (next & 0x7f) << shift;
            if (next >= 0) {
                return value;
            }
        }
        throw new IllegalStateException("varint longer than 10 bytes at byte " + pos[0]);
    }
}
