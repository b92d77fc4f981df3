/** Syntax tree of a policy document (docs/policy.md §Grammar). Every node keeps its source position. */

export type PolicyVersion = '1.0' | '1.1' | '1.2';
export type SectionName = 'configurationrules' | 'authorizationrules' | 'issuancerules';
export type ClaimProp = 'type' | 'value' | 'issuer' | 'valueType';
export type RelOp = '==' | '!=' | '<=' | '>=' | '<' | '>';
export type ActionKind = 'permit' | 'deny' | 'issue' | 'add' | 'issueproperty';
export type FunctionName = 'JmesPath' | 'JsonToClaimValue' | 'IsSubsetOf' | 'AppendString' | 'NegateBool' | 'ContainsOnlyValue';

export interface Pos { line: number; column: number }

export type Expr =
  | { kind: 'lit'; value: string | number | boolean; pos: Pos }
  | { kind: 'ref'; ident: string; prop: ClaimProp; pos: Pos }
  | { kind: 'call'; name: FunctionName; args: Expr[]; pos: Pos };

export interface PropCond { prop: ClaimProp; op: RelOp; expr: Expr; pos: Pos }

export interface Condition {
  /** `![...]` (1.2): true iff no claim matches. */
  negated: boolean;
  ident?: string;
  props: PropCond[];
  pos: Pos;
}

export interface ClaimArgs { type?: Expr; value?: Expr; valueType?: Expr; issuer?: Expr }

export interface Action {
  kind: ActionKind;
  /** `issue(claim = c)`: copy a bound claim. */
  claimRef?: { ident: string; pos: Pos };
  args?: ClaimArgs;
  pos: Pos;
}

export interface Rule { section: SectionName; conditions: Condition[]; action: Action; pos: Pos }

export interface PolicyAst {
  version: PolicyVersion;
  sections: Partial<Record<SectionName, Rule[]>>;
  /** Non-fatal findings (lenient mode accepted something strict mode rejects). */
  warnings: { message: string; pos: Pos }[];
}
