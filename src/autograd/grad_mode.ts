/** Whether ops record the autograd tape. Off inside noGrad() and during backward. */
let enabled = true;

export function isGradEnabled(): boolean {
  return enabled;
}

/** Runs fn without recording gradients (inference, optimizer updates, metrics). */
export function noGrad<T>(fn: () => T): T {
  const prev = enabled;
  enabled = false;
  try {
    return fn();
  } finally {
    enabled = prev;
  }
}

/** Sets the mode and returns the previous one (for code that cannot use a closure). */
export function setGradEnabled(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}
