/** The gRPC status of an error from the Temporal client, on it or on its cause. */
export function grpcCode(error: unknown): number | undefined {
  const e = error as { code?: number; cause?: { code?: number } } | undefined;
  return e?.code ?? e?.cause?.code;
}
