/**
 * Reading the Dockerfile and .dockerignore the way a builder does, so tests can check the image's
 * contract (user, working folder, ports, health check) and run its build steps where no container
 * engine runs. Covers the instructions this project's Dockerfile uses; anything else is an error
 * rather than silently skipped.
 */

export interface Instruction {
  /** Upper case: FROM, RUN, COPY... */
  keyword: string;
  /** `--name=value` flags, in order (`--from=build`, `--interval=15s`). */
  flags: Map<string, string>;
  /** The text after the keyword and its flags, continuation lines joined. */
  args: string;
  /** 1-based line of the keyword. */
  line: number;
}

export interface Stage {
  /** `AS <name>`, or the stage's index as text. */
  name: string;
  /** The image reference after ARG substitution. */
  from: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Map<string, string>;
  stages: Stage[];
}

const KNOWN = new Set(['FROM', 'ARG', 'WORKDIR', 'COPY', 'RUN', 'ENV', 'USER', 'EXPOSE', 'HEALTHCHECK', 'ENTRYPOINT', 'CMD', 'LABEL']);

function substitute(text: string, args: ReadonlyMap<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced: string | undefined, bare: string | undefined) => args.get(braced ?? bare ?? '') ?? whole);
}

/** Splits off leading `--name=value` flags. */
function takeFlags(text: string): { flags: Map<string, string>; rest: string } {
  const flags = new Map<string, string>();
  let rest = text.trimStart();
  for (let match = /^--([a-z-]+)=(\S+)\s*/.exec(rest); match !== null; match = /^--([a-z-]+)=(\S+)\s*/.exec(rest)) {
    flags.set(match[1] ?? '', match[2] ?? '');
    rest = rest.slice(match[0].length);
  }
  return { flags, rest };
}

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.split('\n');
  const logical: Array<{ text: string; line: number }> = [];
  let current: { text: string; line: number } | null = null;
  lines.forEach((raw, index) => {
    const trimmed = raw.trim();
    if (current === null && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (current !== null && trimmed.startsWith('#')) return; // comments inside a continued instruction
    const continued = trimmed.endsWith('\\');
    const part = continued ? trimmed.slice(0, -1).trim() : trimmed;
    current = current === null ? { text: part, line: index + 1 } : { text: `${current.text} ${part}`.trim(), line: current.line };
    if (!continued) {
      logical.push(current);
      current = null;
    }
  });
  if (current !== null) throw new Error('Dockerfile ends inside a continued line');

  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const { text: instructionText, line } of logical) {
    const match = /^([A-Za-z]+)\s+([\s\S]*)$/.exec(instructionText);
    if (match === null) throw new Error(`line ${line}: cannot read "${instructionText}"`);
    const keyword = (match[1] ?? '').toUpperCase();
    if (!KNOWN.has(keyword)) throw new Error(`line ${line}: ${keyword} is not an instruction these tests understand`);
    const { flags, rest } = takeFlags(match[2] ?? '');
    if (keyword === 'ARG' && stages.length === 0) {
      const [name, value] = rest.split('=', 2);
      globalArgs.set((name ?? '').trim(), (value ?? '').trim());
      continue;
    }
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (from === null) throw new Error(`line ${line}: cannot read FROM ${rest}`);
      stages.push({ name: from[2] ?? String(stages.length), from: substitute(from[1] ?? '', globalArgs), instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) throw new Error(`line ${line}: ${keyword} before FROM`);
    stage.instructions.push({ keyword, flags, args: rest, line });
  }
  return { globalArgs, stages };
}

/** An instruction's exec-form JSON array (`["node", "x.js"]`); throws on shell form. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((item): item is string => typeof item === 'string')) throw new Error(`not an exec-form array: ${args}`);
  return parsed;
}

/** The last instruction with `keyword` in a stage, or undefined. */
export function lastOf(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword).at(-1);
}

/** HEALTHCHECK's own command (after `CMD`), exec form. */
export function healthcheckCommand(instruction: Instruction): string[] {
  const match = /^CMD\s+(\[[\s\S]*\])$/.exec(instruction.args);
  if (match?.[1] === undefined) throw new Error(`HEALTHCHECK is not in exec form: ${instruction.args}`);
  return execForm(match[1]);
}

/**
 * .dockerignore: each pattern (Go filepath.Match syntax plus `**`) matches a path or one of its
 * parent folders; the last matching pattern wins and `!` re-includes.
 */
export function dockerignoreFilter(text: string): (relativePath: string) => boolean {
  const patterns = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const pattern = (negated ? line.slice(1) : line).replace(/^\/+|\/+$/g, '');
      const source = pattern
        .split(/(\*\*\/?|\*|\?)/)
        .map((part) => (part === '**' || part === '**/' ? '(?:.*/)?' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('');
      return { negated, regex: new RegExp(`^${source}$`) };
    });
  return (relativePath) => {
    const parts = relativePath.split('/');
    const prefixes = parts.map((_, index) => parts.slice(0, index + 1).join('/'));
    let included = true;
    for (const { negated, regex } of patterns) {
      if (prefixes.some((prefix) => regex.test(prefix))) included = negated;
    }
    return included;
  };
}
