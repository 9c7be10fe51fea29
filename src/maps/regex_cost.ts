/**
 * A worst-case step estimate for a backtracking match of a translated
 * (JavaScript) regex, used to decide whether a lookup may run in this
 * process or must go to the regex sandbox, which can be killed.
 *
 * Without nested quantifiers ("star height" 1) and without back references,
 * a backtracking matcher tries at most (n+1) start positions and, for each,
 * every way to split the key among the k unbounded quantifiers: on the order
 * of (n+1)^(k+1) steps, times the choices of the bounded ones (?, {m,n},
 * alternatives). Anything else (a quantified group that holds a quantifier
 * or an alternation, like /(a+)+$/ or /(a|aa)*$/, or a back reference, which
 * also covers the emulated atomic groups) has no such bound and always goes
 * to the sandbox.
 */

export interface RegexCost {
  /** Number of unbounded quantifiers (*, +, {m,}). */
  degree: number;
  /** Product of the bounded choices. */
  factor: number;
}

interface Group {
  hasQuantifier: boolean;
  hasAlternation: boolean;
  alternatives: number;
}

/** The cost of a JS regex source (flag "u" syntax), or undefined when it is unbounded. */
export function regexCost(source: string): RegexCost | undefined {
  let degree = 0;
  let factor = 1;
  const stack: Group[] = [{
    hasQuantifier: false,
    hasAlternation: false,
    alternatives: 1,
  }];
  let lastWasGroup: Group | undefined; // the group just closed, if the last atom was one
  const top = () => stack[stack.length - 1];
  const quantify = (unbounded: boolean, choices: number) => {
    if (lastWasGroup && (lastWasGroup.hasQuantifier || lastWasGroup.hasAlternation)) {
      return false;
    }
    for (const g of stack) g.hasQuantifier = true;
    if (unbounded) degree++;
    else factor *= choices;
    return true;
  };
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") {
      const next = source[i + 1];
      if (/[1-9]/.test(next) || next === "k") return undefined; // back reference
      if (next === "u" && source[i + 2] === "{") i = source.indexOf("}", i);
      else if ((next === "p" || next === "P") && source[i + 2] === "{") {
        i = source.indexOf("}", i);
      } else i++;
      lastWasGroup = undefined;
      continue;
    }
    if (c === "[") {
      for (i++; i < source.length && source[i] !== "]"; i++) {
        if (source[i] === "\\") {
          if (source[i + 1] === "u" && source[i + 2] === "{") i = source.indexOf("}", i);
          else i++;
        }
      }
      lastWasGroup = undefined;
      continue;
    }
    if (c === "(") {
      stack.push({ hasQuantifier: false, hasAlternation: false, alternatives: 1 });
      lastWasGroup = undefined;
      continue;
    }
    if (c === ")") {
      const g = stack.pop()!;
      factor *= g.alternatives;
      if (g.hasAlternation) top().hasAlternation = true;
      lastWasGroup = g;
      continue;
    }
    if (c === "|") {
      top().hasAlternation = true;
      top().alternatives++;
      lastWasGroup = undefined;
      continue;
    }
    if (c === "*" || c === "+" || c === "?" || c === "{") {
      let unbounded = c !== "?";
      let choices = 2;
      if (c === "{") {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i));
        if (!m) {
          lastWasGroup = undefined;
          continue;
        }
        unbounded = m[2] !== undefined && m[3] === "";
        choices = unbounded ? 0 : (m[3] ? Number(m[3]) - Number(m[1]) + 1 : 1);
        i += m[0].length - 1;
      }
      if (source[i + 1] === "?") i++; // lazy
      if (!quantify(unbounded, choices)) return undefined;
      lastWasGroup = undefined;
      continue;
    }
    lastWasGroup = undefined;
  }
  factor *= stack[0].alternatives;
  return { degree, factor };
}

/** Worst-case steps for a key of `length` characters (`extraDegree` for the POSIX longest-match search). */
export function stepsFor(cost: RegexCost, length: number, extraDegree = 0): number {
  return cost.factor * (length + 1) ** (cost.degree + 1 + extraDegree);
}
