// A real OpenSSH server for tests: Debian's /usr/sbin/sshd as a non-daemon child (-D -e) on
// 127.0.0.1 and a free port, with its own host keys, config and authorized_keys in a temp
// dir. Logins are for the `git` user (login shell git-shell), created if missing; bare repos
// live in the temp dir, owned by that user. A "writer" key with no forced command can push,
// so a refused push with a deploy key proves the key, not the file permissions.
// Also here: the scan for private key material that must never leave the Secret.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

/** The first line of an OpenSSH private key, assembled so that this file does not contain it. */
export const PRIVATE_KEY_MARKER = ["BEGIN", "OPENSSH", "PRIVATE", "KEY"].join(" ");
/** An age identity's prefix (a team's SOPS key: Secret <team>-sops-age only). */
export const AGE_KEY_MARKER = ["AGE", "SECRET", "KEY-"].join("-");
const SECRET_MARKERS = [PRIVATE_KEY_MARKER, AGE_KEY_MARKER];
const holdsSecret = (text: string): boolean => SECRET_MARKERS.some((m) => text.includes(m));

const SSHD = "/usr/sbin/sshd";
const GIT_SHELL = "/usr/bin/git-shell";
export const GIT_USER = "git";

function run(file: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync(file, [...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], cwd: opts.cwd, env: opts.env ?? process.env });
}

/** The `git` user, or null when getent says it does not exist (exit 2); any other failure is thrown. */
function gitUser(): { uid: number; gid: number; shell: string } | null {
  try {
    const [, , uid, gid, , , shell] = run("getent", ["passwd", GIT_USER]).trim().split(":");
    return { uid: Number(uid), gid: Number(gid), shell: shell ?? "" };
  } catch (e) {
    if ((e as { status?: number }).status === 2) return null;
    throw e;
  }
}

/**
 * The `git` user, created as `useradd --system --shell /usr/bin/git-shell` when missing.
 * git-shell need not be in /etc/shells: sshd only checks that the shell exists (the
 * /etc/shells check is PAM's pam_shells, and the test sshd runs with UsePAM no). Its
 * password field is `*`, not useradd's default `!`: without PAM, sshd takes `!` for a
 * locked account and refuses even public-key logins.
 */
export function ensureGitUser(): { uid: number; gid: number } {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: apt-get install openssh-server (.ci/run does)`);
  if (!existsSync(GIT_SHELL)) throw new Error(`${GIT_SHELL} is missing: apt-get install git`);
  let user = gitUser();
  if (user === null) {
    if (process.getuid?.() !== 0) throw new Error(`user ${GIT_USER} is missing and only root can create it: useradd --system --shell ${GIT_SHELL} --password '*' ${GIT_USER}`);
    run("useradd", ["--system", "--shell", GIT_SHELL, "--password", "*", "--no-create-home", GIT_USER]);
    user = gitUser();
    if (user === null) throw new Error(`useradd ${GIT_USER} did not create the user`);
  } else {
    const password = run("getent", ["shadow", GIT_USER]).split(":")[1] ?? "";
    if (password.startsWith("!")) throw new Error(`user ${GIT_USER} is locked ('!' password), so sshd without PAM refuses it: usermod -p '*' ${GIT_USER}`);
  }
  return user;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => {
        if (a === null || typeof a === "string") reject(new Error("no port"));
        else resolve(a.port);
      });
    });
  });
}

/** Every sshd this process started and has not stopped: killed if the process exits first. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

export interface Sshd {
  readonly port: number;
  readonly dir: string;
  /** The git user's authorized_keys (sshd's AuthorizedKeysFile). */
  readonly authorizedKeys: string;
  /** `[127.0.0.1]:<port> <type> <base64>` lines of the current host keys. */
  hostKeyLines(): string[];
  /** SHA256 fingerprints of the current host keys. */
  hostKeyFingerprints(): string[];
  /** sshd's log so far (its -e output). */
  log(): string;
  /** A new bare repo owned by the git user; its ssh:// URL. */
  bareRepo(name: string): { path: string; url: string };
  /** GIT_SSH_COMMAND for `identity`, trusting exactly this server's current host keys. */
  sshCommand(identity: string): string;
  /** The writer key (no forced command: may push). */
  readonly writerKey: string;
  /** Stops sshd; with newHostKeys, generates new host keys; starts it again on the same port. */
  restart(opts?: { newHostKeys?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export async function startSshd(): Promise<Sshd> {
  const user = ensureGitUser();
  // Privilege separation needs it (systemd's tmpfiles would create it on a booted system).
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), "tenantry-sshd-"));
  chmodSync(dir, 0o755);
  const etc = join(dir, "etc");
  const sshDir = join(dir, "ssh");
  const repos = join(dir, "repos");
  const client = join(dir, "client");
  mkdirSync(etc, { mode: 0o700 });
  mkdirSync(sshDir, { mode: 0o755 });
  mkdirSync(repos, { mode: 0o755 });
  mkdirSync(client, { mode: 0o700 });
  chownSync(sshDir, user.uid, user.gid);
  chownSync(repos, user.uid, user.gid);
  const authorizedKeys = join(sshDir, "authorized_keys");
  const writerKey = join(client, "writer");
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test-writer", "-f", writerKey]);
  writeFileSync(authorizedKeys, `restrict ${readFileSync(`${writerKey}.pub`, "utf8").trim()}\n`, { mode: 0o600 });
  chownSync(authorizedKeys, user.uid, user.gid);

  const hostKeyFiles = [join(etc, "ssh_host_ed25519_key"), join(etc, "ssh_host_ecdsa_key")];
  const newHostKeys = (): void => {
    for (const f of hostKeyFiles) {
      rmSync(f, { force: true });
      rmSync(`${f}.pub`, { force: true });
      run("ssh-keygen", ["-q", "-t", f.includes("ecdsa") ? "ecdsa" : "ed25519", "-N", "", "-C", "test-host", "-f", f]);
    }
  };
  newHostKeys();

  let port = await freePort();
  const config = join(etc, "sshd_config");
  const writeConfig = (): void => {
    writeFileSync(
      config,
      [
        "ListenAddress 127.0.0.1",
        `Port ${port}`,
        ...hostKeyFiles.map((f) => `HostKey ${f}`),
        `AuthorizedKeysFile ${authorizedKeys}`,
        "AuthorizedKeysCommand none",
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "PermitRootLogin no",
        `AllowUsers ${GIT_USER}`,
        "PidFile none",
        "LogLevel VERBOSE",
        "",
      ].join("\n"),
    );
  };

  let child: ChildProcess | undefined;
  let logText = "";
  const start = async (): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      writeConfig();
      const c = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
      const up = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          resolve(false);
        }, 10_000);
        c.stderr.on("data", (chunk: Buffer) => {
          logText += chunk.toString("utf8");
          if (logText.includes(`Server listening on 127.0.0.1 port ${port}`)) {
            clearTimeout(timer);
            resolve(true);
          }
        });
        c.once("exit", () => {
          clearTimeout(timer);
          resolve(false);
        });
      });
      if (up) {
        child = c;
        running.add(c);
        c.once("exit", () => running.delete(c));
        return;
      }
      c.kill("SIGKILL");
      if (attempt >= 2) throw new Error(`sshd did not start:\n${logText}`);
      port = await freePort();
    }
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once("exit", () => {
      resolve();
    }));
    c.kill("SIGTERM");
    await exited;
  };
  await start();

  const hostKeyLines = (): string[] =>
    hostKeyFiles.map((f) => {
      const [type, data] = readFileSync(`${f}.pub`, "utf8").trim().split(/\s+/);
      return `[127.0.0.1]:${port} ${type ?? ""} ${data ?? ""}`;
    });
  const knownHosts = join(client, "known_hosts");
  return {
    get port() {
      return port;
    },
    dir,
    authorizedKeys,
    writerKey,
    hostKeyLines,
    hostKeyFingerprints: () => hostKeyFiles.map((f) => run("ssh-keygen", ["-l", "-f", `${f}.pub`]).split(" ")[1] ?? ""),
    log: () => logText,
    bareRepo: (name) => {
      const path = join(repos, `${name}.git`);
      run("git", ["init", "--quiet", "--bare", "--initial-branch=main", path]);
      run("chown", ["-R", `${user.uid}:${user.gid}`, path]);
      return { path, url: `ssh://${GIT_USER}@127.0.0.1:${port}${path}` };
    },
    sshCommand: (identity) => {
      writeFileSync(knownHosts, `${hostKeyLines().join("\n")}\n`);
      return `ssh -F /dev/null -i ${identity} -o IdentitiesOnly=yes -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10`;
    },
    restart: async (opts = {}) => {
      await stop();
      if (opts.newHostKeys === true) newHostKeys();
      await start();
    },
    stop: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function isGitDir(dir: string): boolean {
  return existsSync(join(dir, ".git")) || (existsSync(join(dir, "HEAD")) && existsSync(join(dir, "objects")));
}

/**
 * Where private key material (an OpenSSH private key, an age identity) occurs in `dirs` (every file, and every commit of every Git
 * repo among them or below them: objects are compressed, so history is read with git) and
 * in `texts` (captured outputs, by name).
 */
export function privateKeyLeaks(dirs: readonly string[], texts: Readonly<Record<string, string>> = {}): string[] {
  const hits: string[] = [];
  const walk = (root: string, d: string): void => {
    if (isGitDir(d)) {
      const gitDir = existsSync(join(d, ".git")) ? ["-C", d] : ["--git-dir", d];
      let history: string;
      try {
        history = run("git", ["-c", "safe.directory=*", ...gitDir, "log", "--all", "-p", "--no-color", "--format=commit %H"]);
      } catch (e) {
        history = `unreadable: ${(e as Error).message}`;
        hits.push(`${d} (git history ${history})`);
      }
      if (holdsSecret(history)) hits.push(`${d} (git history)`);
    }
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.name === ".git" || e.name === "objects") continue;
      if (e.isDirectory()) walk(root, p);
      else if (e.isFile() && statSync(p).size < 10_000_000 && holdsSecret(readFileSync(p, "latin1"))) hits.push(relative(root, p) === "" ? p : `${root}: ${relative(root, p)}`);
    }
  };
  for (const d of dirs) if (existsSync(d)) walk(d, d);
  for (const [name, text] of Object.entries(texts)) if (holdsSecret(text)) hits.push(name);
  return hits;
}
