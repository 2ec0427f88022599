import path from 'node:path';
import { useTestStack } from '../../../infra/stack/test-stack';

// Every integration test file, however jest was started, talks to the tests' own stack.
useTestStack(process.env, path.resolve(__dirname, '../../..'));
