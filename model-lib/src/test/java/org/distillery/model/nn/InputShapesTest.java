package org.distillery.model.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * How a teacher's declared input takes the transfer set's rows, and the Keras naming and chain rules; end to end with
 * real framework files: FrameworkTeachersTest.
 */
class InputShapesTest {
    private static InputShapes.Feed feed(long[] dims, int... example) {
        return InputShapes.feed(InputShapes.Declared.of(-1, dims), example, true, "t.onnx");
    }

    @Test
    void rowsAreFedAsTheyAreWhenTheyHoldTheSameValuesInTheSameOrder() {
        InputShapes.Feed same = feed(new long[] {1, 28, 28}, 1, 28, 28);
        assertThat(same.channelsLast()).isFalse();
        assertThat(same.dims()).containsExactly(1, 28, 28);
        assertThat(feed(new long[] {28, 28, 1}, 1, 28, 28).channelsLast()).as("one channel: the same order").isFalse();
        assertThat(feed(new long[] {784}, 1, 28, 28).dims()).containsExactly(784);
        assertThat(feed(new long[] {3, 8, 8}, 192).dims()).as("a vector shape: the teacher's own order")
                .containsExactly(3, 8, 8);
        assertThat(feed(new long[] {3, -1, -1}, 3, 32, 32).dims()).as("symbolic axes take the example's sizes")
                .containsExactly(3, 32, 32);
    }

    @Test
    void channelsLastInputsAreTransposedAndAmbiguousOnesReadChannelsFirst() {
        InputShapes.Feed nhwc = feed(new long[] {8, 8, 3}, 3, 8, 8);
        assertThat(nhwc.channelsLast()).isTrue();
        assertThat(nhwc.dims()).containsExactly(8, 8, 3);
        assertThat(feed(new long[] {3, 3, 3}, 3, 3, 3).channelsLast()).isFalse();
        assertThat(feed(new long[] {-1, -1, -1}, 3, 8, 8).channelsLast()).isFalse();
        assertThatThrownBy(() -> InputShapes.feed(InputShapes.Declared.of(-1, 8, 8, 3), new int[] {3, 8, 8}, false,
                "t.keras")).as("only where the teacher may read channels-last")
                .hasMessage("teacher input [N, 8, 8, 3] does not match the transfer set's example shape [3, 8, 8]: t.keras");
        float[] chw = {0, 1, 2, 3, 10, 11, 12, 13}; // C = 2, H = 2, W = 2
        float[] hwc = new float[8];
        InputShapes.toChannelsLast(chw, 0, 2, 2, 2, hwc, 0);
        assertThat(hwc).containsExactly(0, 10, 1, 11, 2, 12, 3, 13);
    }

    @Test
    void aMismatchNamesBothShapes() {
        assertThatThrownBy(() -> InputShapes.feed(new InputShapes.Declared(2, new long[] {3, 32, 32},
                new String[3]), new int[] {1, 28, 28}, true, "m.onnx"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("teacher input [2, 3, 32, 32] does not match the transfer set's example shape [1, 28, 28]:"
                        + " m.onnx");
        assertThatThrownBy(() -> InputShapes.feed(new InputShapes.Declared(-1, new long[] {3, -1, -1},
                new String[] {null, "height", "width"}), new int[] {784}, true, "m.onnx"))
                .hasMessage("teacher input [N, 3, height, width] does not match the transfer set's example shape"
                        + " [784]: m.onnx");
    }

    @Test
    void kerasWeightPathsAndChains() {
        assertThat(List.of("Conv2D", "MaxPooling2D", "BatchNormalization", "InputLayer", "Dense").stream()
                .map(KerasNetwork::snakeCase)).containsExactly("conv2d", "max_pooling2d", "batch_normalization",
                "input_layer", "dense");
        Map<String, Object> branching = Map.of("input_layers", List.of(List.of("in", 0, 0)),
                "output_layers", List.of(List.of("add", 0, 0)), "layers", List.of(
                        Map.of("name", "in", "inbound_nodes", List.of()),
                        Map.of("name", "a", "inbound_nodes", List.of(List.of(List.of("in", 0, 0, Map.of())))),
                        Map.of("name", "b", "inbound_nodes", List.of(List.of(List.of("in", 0, 0, Map.of())))),
                        Map.of("name", "add", "inbound_nodes", List.of(List.of(List.of("a", 0, 0, Map.of()),
                                List.of("b", 0, 0, Map.of()))))));
        assertThatThrownBy(() -> KerasChain.order(branching, "m.h5"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("functional Keras model m.h5 is not a single chain of layers (after in come [a, b])");
    }
}
