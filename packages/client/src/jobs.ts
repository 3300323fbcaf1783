/** Cancellable jobs by id: an AbortSignal cannot be posted to a Worker, so jobs are cancelled by name. */
export class Jobs {
  readonly #controllers = new Map<string, AbortController>()

  /** Runs `work` with a signal that {@link cancel} (with the same id) aborts. */
  async run<T>(id: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController()
    this.#controllers.set(id, controller)
    try {
      return await work(controller.signal)
    } finally {
      this.#controllers.delete(id)
    }
  }

  cancel(id: string): void {
    this.#controllers.get(id)?.abort()
  }

  cancelAll(): void {
    for (const c of this.#controllers.values()) c.abort()
  }
}
