/** A set of listeners; one that throws is reported and never stops the others or the caller. */
export const createListeners = <E>(onThrow: (error: unknown) => void) => {
  const listeners = new Set<(event: E) => void>();
  return {
    add(listener: (event: E) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(event: E): void {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (error) {
          onThrow(error);
        }
      }
    },
  };
};
