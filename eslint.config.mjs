import tseslint from 'typescript-eslint';

const ONNXRUNTIME = { name: 'onnxruntime-node', message: 'only server/model/onnxBackend.ts talks to onnxruntime' };
const NOT_ENGINE = { regex: '(^|/)engine/', message: 'model/ and backend/ do not depend on the engine: shared types live in server/backend/' };
const NOT_TEST = { regex: '(^|/)test/', message: 'shipped code never reaches test/' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.e2e/**', 'test-output/**', 'training/**', 'models/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
  { files: ['**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  // The layering of docs/architecture.md. A file matched by several of these blocks gets the last one's list, so
  // each block repeats the rules that still apply to it.
  {
    files: ['server/**/*.ts', 'scripts/**/*.ts', 'test/**/*.ts'],
    ignores: ['server/model/onnxBackend.ts', 'server/bench/int4BlockBias.ts', 'server/bench/attentionProbe.ts', 'server/bench/linearFloor.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [ONNXRUNTIME] }] },
  },
  {
    files: ['server/model/**/*.ts', 'server/backend/**/*.ts'],
    ignores: ['server/model/onnxBackend.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [ONNXRUNTIME], patterns: [NOT_ENGINE, NOT_TEST] }] },
  },
  {
    files: ['server/model/onnxBackend.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NOT_ENGINE, NOT_TEST] }] },
  },
  {
    files: ['server/*.ts', 'server/engine/**/*.ts', 'server/calibration/**/*.ts', 'server/completion/**/*.ts', 'server/hub/**/*.ts', 'server/cli/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [ONNXRUNTIME], patterns: [NOT_TEST] }] },
  },
  {
    files: ['extension/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [ONNXRUNTIME],
          patterns: [{ regex: '^(\\.\\./)+server/(?!protocol(\\.js)?$)', message: 'extension/ talks to the server through server/protocol.ts only' }, NOT_TEST],
        },
      ],
    },
  },
);
