// Errors of the chain layer. Kept local so the chain module stands alone (every layer may use it).
export class ChainError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, retryable: boolean, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.retryable = retryable;
    this.details = details;
  }
}

export class ChainStartError extends ChainError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('chain_start_failed', message, false, details);
  }
}

export class DeploymentError extends ChainError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('deployment_failed', message, false, details);
  }
}

export class AddressBookError extends ChainError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('address_book_invalid', message, false, details);
  }
}
