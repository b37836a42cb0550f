/** Where a child process runs: here, or inside a network namespace (`ip netns exec`). */
export interface Place {
  /** The command line that runs `command args` in this place. */
  wrap(command: string, args: readonly string[]): [string, string[]];
}

export const HERE: Place = { wrap: (command, args) => [command, [...args]] };
