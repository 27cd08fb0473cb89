package org.distillery.model.nn;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The order of a Keras functional Model's layers when they form a single chain from its one input to its one output,
 * read from the configuration of Keras 2 or 3; anything else is refused, saying where the chain breaks.
 */
final class KerasChain {
    private KerasChain() {
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> order(Map<String, Object> config, String source) {
        List<String> inputs = ends(config.get("input_layers"));
        List<String> outputs = ends(config.get("output_layers"));
        if (inputs.size() != 1 || outputs.size() != 1) {
            throw new IllegalArgumentException("functional Keras model " + source + " has inputs " + inputs
                    + " and outputs " + outputs + "; one input and one output are read");
        }
        Map<String, Map<String, Object>> byName = new HashMap<>();
        Map<String, List<String>> inbound = new HashMap<>();
        for (Map<String, Object> layer : (List<Map<String, Object>>) config.get("layers")) {
            String name = String.valueOf(layer.get("name"));
            byName.put(name, layer);
            List<String> from = new ArrayList<>();
            Object nodes = layer.get("inbound_nodes");
            if (nodes instanceof List<?> l && l.size() > 1) {
                throw notAChain(source, name + " is called " + l.size() + " times");
            }
            history(nodes, from);
            inbound.put(name, from);
        }
        List<Map<String, Object>> chain = new ArrayList<>(List.of(byName.get(inputs.get(0))));
        String at = inputs.get(0);
        while (!at.equals(outputs.get(0))) {
            String here = at;
            List<String> next = inbound.entrySet().stream().filter(e -> e.getValue().contains(here))
                    .map(Map.Entry::getKey).sorted().toList();
            if (next.size() != 1 || inbound.get(next.get(0)).size() != 1) {
                throw notAChain(source, "after " + here + " come " + next + (next.size() == 1 ? " with inputs "
                        + inbound.get(next.get(0)) : ""));
            }
            at = next.get(0);
            chain.add(byName.get(at));
        }
        if (chain.size() != byName.size()) {
            throw notAChain(source, "layers outside the chain from " + inputs.get(0) + " to " + outputs.get(0));
        }
        return chain;
    }

    private static IllegalArgumentException notAChain(String source, String why) {
        return new IllegalArgumentException("functional Keras model " + source + " is not a single chain of layers ("
                + why + ")");
    }

    /** Layer names of input_layers / output_layers: Keras 3 writes one as [name, 0, 0], else a list of them. */
    private static List<String> ends(Object v) {
        if (v instanceof List<?> l && !l.isEmpty() && l.get(0) instanceof String name) {
            return List.of(name);
        }
        List<String> names = new ArrayList<>();
        if (v instanceof List<?> l) {
            for (Object e : l) {
                if (e instanceof List<?> entry && !entry.isEmpty()) {
                    names.add(String.valueOf(entry.get(0)));
                }
            }
        }
        return names;
    }

    /**
     * The layers an inbound_nodes value names: Keras 2's {@code [[[name, node, tensor, kwargs], ...]]}, Keras 3's
     * {@code [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": [name, node, tensor]}}]}]}.
     */
    private static void history(Object v, List<String> into) {
        if (v instanceof Map<?, ?> m) {
            if (m.get("keras_history") instanceof List<?> h && !h.isEmpty()) {
                into.add(String.valueOf(h.get(0)));
                return;
            }
            m.values().forEach(x -> history(x, into));
        } else if (v instanceof List<?> l) {
            if ((l.size() == 3 || l.size() == 4) && l.get(0) instanceof String name && l.get(1) instanceof Number
                    && l.get(2) instanceof Number) {
                into.add(name);
                return;
            }
            l.forEach(x -> history(x, into));
        }
    }
}
