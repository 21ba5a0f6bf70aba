/** Layer rules (see STYLE.md "Dependency rules"). A deliberate violation must fail `npm run layers`. */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'src/domain imports nothing outside src/domain: no SDK, no node:*, no inversify.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { pathNot: '^src/domain/' },
    },
    {
      name: 'application-only-domain-and-ports',
      comment: 'src/application imports only src/domain and src/application.',
      severity: 'error',
      from: { path: '^src/application/' },
      to: { pathNot: '^src/(domain|application)/' },
    },
    {
      name: 'inversify-only-in-composition-root',
      comment: 'Only src/adapters/bootstrap knows the container.',
      severity: 'error',
      from: { pathNot: '^src/adapters/bootstrap/' },
      to: { path: '(^|/)node_modules/(inversify|@inversifyjs/[^/]+|reflect-metadata)/' },
    },
    {
      name: 'adapters-never-import-bootstrap',
      severity: 'error',
      from: { path: '^src/adapters/', pathNot: '^src/adapters/bootstrap/' },
      to: { path: '^src/adapters/bootstrap/' },
    },
    {
      name: 'src-never-imports-test',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
    {
      name: 'simulator-shares-no-code',
      comment: 'The Atlas simulator is an independent implementation of the API: it imports nothing of ours.',
      severity: 'error',
      from: { path: '^src/simulator/' },
      to: { path: '^src/', pathNot: '^src/simulator/' },
    },
    {
      name: 'only-bootstrap-and-tests-use-the-simulator',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(simulator|adapters/bootstrap)/' },
      to: { path: '^src/simulator/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
