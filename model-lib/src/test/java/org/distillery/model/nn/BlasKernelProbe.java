package org.distillery.model.nn;

import org.nd4j.linalg.factory.Nd4j;

/** Run by BlasKernelTest in a fresh JVM: applies the setting in args[0], runs one product, prints the kernel. */
final class BlasKernelProbe {
    private BlasKernelProbe() {
    }

    public static void main(String[] args) {
        BlasKernel.Choice choice = BlasKernel.apply(args[0], true);
        Nd4j.rand(64, 64).mmul(Nd4j.rand(64, 64));
        System.out.println(choice.describe());
        System.out.println("running=" + BlasKernel.running());
    }
}
