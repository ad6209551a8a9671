/** A loss or gradient became NaN/Inf: training cannot continue from here. */
export class DivergenceError extends Error {
  constructor(
    public readonly step: number,
    public readonly quantity: string,
    public readonly value: number,
  ) {
    super(`Training diverged at step ${step}: ${quantity} is ${value} (try a lower learning rate)`);
    this.name = "DivergenceError";
  }
}

/** A checkpoint that cannot be read or does not fit the run's architecture. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

/** A backend that was asked for explicitly but cannot be used here. */
export class BackendUnavailableError extends Error {
  constructor(
    public readonly backend: string,
    public readonly reason: string,
  ) {
    super(`Backend "${backend}" is not available: ${reason}`);
    this.name = "BackendUnavailableError";
  }
}
