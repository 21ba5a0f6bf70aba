/** A request for one rotation, in the direct shape the worker consumes (README "Rotation requests (in)"). */
export interface RotationRequestMessage {
  /** The secret's ARN. */
  readonly secretId: string;
  /** 1-128 printable ASCII characters; the worker derives the rotation's token from it. */
  readonly requestId: string;
  readonly reason: string;
}

/** Where rotation requests go for the worker (or the Lambda) to carry out. */
export interface RotationRequests {
  /**
   * Sends one request. Safe to repeat: the same `requestId` is the same rotation to the worker, and a FIFO
   * queue also drops a repeat within its five-minute deduplication window. Rejects with a `RotatorError`
   * (retryable or not) when the request was not accepted.
   */
  send(request: RotationRequestMessage): Promise<void>;
}
