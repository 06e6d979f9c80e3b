// models.list() through both SDKs lists the router's models.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, FORMATS } from '../lib/stack.js';
import { openai, anthropic } from '../lib/clients.js';

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

for (const format of FORMATS) {
  describe(`models of a server with a ${format} provider`, () => {
    const server = () => stack.servers[format];

    it('OpenAI SDK: models.list() has the rewrite target', async () => {
      const ids = [];
      for await (const model of openai(server()).models.list()) {
        assert.equal(model.object, 'model');
        assert.equal(typeof model.owned_by, 'string');
        ids.push(model.id);
      }
      assert.ok(ids.includes(server().sentModel), `${server().sentModel} in ${ids}`);
      assert.equal(new Set(ids).size, ids.length, 'no duplicates');
    });

    it('Anthropic SDK: models.list() has the rewrite target', async () => {
      const ids = [];
      for await (const model of anthropic(server()).models.list()) {
        assert.equal(model.type, 'model');
        assert.equal(typeof model.display_name, 'string');
        ids.push(model.id);
      }
      assert.ok(ids.includes(server().sentModel), `${server().sentModel} in ${ids}`);
    });
  });
}
