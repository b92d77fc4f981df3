/**
 * The shared providers' default SGX policy, byte for byte (docs/policy.md §Default policies: P1, one line, no trailing
 * newline). Its hash `bROrN897ZfWmWY2V0FLUlu3uwk5xatGnKYHn3zBbSlw` is the `x-ms-policy-hash` of real MAA tokens.
 */
export const DEFAULT_SGX_POLICY_V10 =
  'version= 1.0;authorizationrules{=> permit();};issuancerules{c:[type=="x-ms-sgx-is-debuggable"] => issue(type="is-debuggable", value=c.value);c:[type=="x-ms-sgx-mrsigner"] => issue(type="sgx-mrsigner", value=c.value);c:[type=="x-ms-sgx-mrenclave"] => issue(type="sgx-mrenclave", value=c.value);c:[type=="x-ms-sgx-product-id"] => issue(type="product-id", value=c.value);c:[type=="x-ms-sgx-svn"] => issue(type="svn", value=c.value);c:[type=="x-ms-attestation-type"] => issue(type="tee", value=c.value);};';

/** The custom providers' default since TCB baselines (docs/policy.md §Default policies: P2, as in MS docs policy-examples). */
export const DEFAULT_SGX_POLICY_V11 = `version= 1.1;
configurationrules{
\t=> issueproperty(type="x-ms-sgx-tcbidentifier", value="azuredefault");
};
authorizationrules{
\t=> permit();
};
issuancerules{
\tc:[type=="x-ms-sgx-is-debuggable"] => issue(type="is-debuggable", value=c.value);
\tc:[type=="x-ms-sgx-mrsigner"] => issue(type="sgx-mrsigner", value=c.value);
\tc:[type=="x-ms-sgx-mrenclave"] => issue(type="sgx-mrenclave", value=c.value);
\tc:[type=="x-ms-sgx-product-id"] => issue(type="product-id", value=c.value);
\tc:[type=="x-ms-sgx-svn"] => issue(type="svn", value=c.value);
\tc:[type=="x-ms-attestation-type"] => issue(type="tee", value=c.value);
};
`;

/**
 * The default policy per attestation type. OpenEnclave has the same default as SgxEnclave (docs/policy.md §Default policies); P1 is used so
 * the `x-ms-policy-hash` of default-policy tokens matches Azure's.
 */
export const DEFAULT_POLICIES: Readonly<Record<'SgxEnclave' | 'OpenEnclave', string>> = Object.freeze({
  SgxEnclave: DEFAULT_SGX_POLICY_V10,
  OpenEnclave: DEFAULT_SGX_POLICY_V10,
});
