/**
 * @module Opening the model of a CLI verb: the --kernels choice, then the model with the
 * --output-head and --no-repack choices (shared by run, bench and perplexity).
 */
import { type KernelSet, type NativeModel, openModel, setKernels } from "../engine/index.ts";
import type { OutputHead } from "../config/index.ts";

/**
 * Applies --kernels and opens --model with --output-head and --no-repack.
 *
 * @param cmd the verb's options.
 * @returns The model (the caller disposes of it).
 * @throws {EngineError} For a bad model file.
 */
export async function openCliModel(
  cmd: Readonly<{ model: string; kernels?: string; outputHead: OutputHead; repack: boolean }>,
): Promise<NativeModel> {
  if (cmd.kernels) await setKernels(cmd.kernels as KernelSet);
  return await openModel(cmd.model, {
    outputHead: cmd.outputHead,
    repack: cmd.repack,
  });
}
