import { execFileSync } from "node:child_process";
import { chmod, lchown, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { describeFileError, readTrustedFile, UntrustedFileError } from "./trusted-file.js";

const OTHER = 4242;
let dir: string;
beforeAll(() => {
  expect(process.geteuid?.(), "these cases give files and links to another uid, which takes root").toBe(0);
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-trusted-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const read = async (path: string, owners: number[] = []) =>
  (await readTrustedFile(path, { owners, maxBytes: 16 * 1024 })).bytes.toString();
const refusal = (path: string, owners: number[] = []) =>
  read(path, owners).then(
    () => "read",
    (error: unknown) => describeFileError(error),
  );

describe("readTrustedFile", () => {
  it("reads a file of this user's that nobody else may write", async () => {
    await writeFile(join(dir, "token"), "tok", { mode: 0o600 });
    expect(await read(join(dir, "token"))).toBe("tok");
  });

  it("refuses one others may write, or that belongs to anyone but root, this user and the owners given", async () => {
    await writeFile(join(dir, "open"), "tok", { mode: 0o666 });
    await chmod(join(dir, "open"), 0o666);
    expect(await refusal(join(dir, "open"))).toBe("it is writable by group or others (mode 0666)");
    await writeFile(join(dir, "theirs"), "tok", { mode: 0o600 });
    await lchown(join(dir, "theirs"), OTHER, OTHER);
    expect(await refusal(join(dir, "theirs"))).toBe(`it belongs to uid ${OTHER}, not to uid 0`);
    expect(await read(join(dir, "theirs"), [OTHER])).toBe("tok");
  });

  it("follows a Secret volume's own links (root's, in root's directory)", async () => {
    await mkdir(join(dir, "..v1"));
    await writeFile(join(dir, "..v1", "token"), "v1");
    await symlink("..v1", join(dir, "..data"));
    await symlink("..data/token", join(dir, "token"));
    expect(await read(join(dir, "token"))).toBe("v1");
  });

  it("refuses a link another user planted, in the file's place or on the way, whatever it points at", async () => {
    await writeFile(join(dir, "victim"), "root's own", { mode: 0o644 });
    const shared = join(dir, "shared");
    await mkdir(shared);
    await symlink(join(dir, "victim"), join(shared, "token"));
    await lchown(join(shared, "token"), OTHER, OTHER);
    expect(await refusal(join(shared, "token"))).toBe(
      `${shared}/token is a symbolic link that another user could have planted or could change: the link belongs to uid ${OTHER}`,
    );
    // Root's own link, but in a directory everyone may write (a 0777 emptyDir): anyone could have swapped it.
    const open = join(dir, "open");
    await mkdir(open);
    await chmod(open, 0o777);
    await symlink(join(dir, "victim"), join(open, "token"));
    expect(await refusal(join(open, "token"))).toMatch(/is writable by group or others \(mode 0777\)/);
    await symlink(dir, join(open, "up"));
    expect(await refusal(join(open, "up", "victim"))).toMatch(/up is a symbolic link .*\(mode 0777\)/);
  });

  it("refuses a FIFO at once, and a procfs file that never ends after at most the limit", async () => {
    execFileSync("mkfifo", [join(dir, "fifo")]);
    expect(await refusal(join(dir, "fifo"))).toBe("it is not a regular file");
    await symlink("/proc/self/pagemap", join(dir, "pagemap"));
    expect(await refusal(join(dir, "pagemap"))).toBe("larger than 16384 bytes");
  });

  it("says what is missing without a /proc/self/fd path", async () => {
    expect(await refusal(join(dir, "nope"))).toBe("it does not exist");
    expect(await refusal(join(dir, "no", "such", "dir"))).toBe("it does not exist");
    await expect(read(join(dir, "nope"))).rejects.not.toBeInstanceOf(UntrustedFileError);
  });
});
