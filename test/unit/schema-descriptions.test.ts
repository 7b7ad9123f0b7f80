import { readFileSync } from "node:fs";
import path from "node:path";
import { Kind, parse, type StringValueNode } from "graphql";

/**
 * schema.graphql documents itself: GraphiQL and codegen show these descriptions to frontend
 * developers, who cannot read the code behind them. Directive definitions and directives applied
 * to elements (@node, @cypher, @relationship…) belong to @neo4j/graphql and are not checked.
 */
const SCHEMA = readFileSync(path.join(__dirname, "../../schema.graphql"), "utf8");

/** One hand-written element of the schema: its name as a reader looks it up, and its description. */
interface Element {
  name: string;
  description: string | undefined;
}

/**
 * Every type, field, argument, input field and enum value of a type-system document; directive
 * definitions and schema definitions are skipped.
 */
function schemaElements(source: string): Element[] {
  const elements: Element[] = [];
  const add = (name: string, description: StringValueNode | undefined) =>
    elements.push({ name, description: description?.value });
  for (const definition of parse(source).definitions) {
    switch (definition.kind) {
      case Kind.SCALAR_TYPE_DEFINITION:
      case Kind.UNION_TYPE_DEFINITION:
        add(definition.name.value, definition.description);
        break;
      case Kind.ENUM_TYPE_DEFINITION:
        add(definition.name.value, definition.description);
        for (const value of definition.values ?? []) {
          add(`${definition.name.value}.${value.name.value}`, value.description);
        }
        break;
      case Kind.INPUT_OBJECT_TYPE_DEFINITION:
        add(definition.name.value, definition.description);
        for (const field of definition.fields ?? []) {
          add(`${definition.name.value}.${field.name.value}`, field.description);
        }
        break;
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_DEFINITION:
        add(definition.name.value, definition.description);
        for (const field of definition.fields ?? []) {
          const fieldName = `${definition.name.value}.${field.name.value}`;
          add(fieldName, field.description);
          for (const arg of field.arguments ?? []) add(`${fieldName}(${arg.name.value}:)`, arg.description);
        }
        break;
    }
  }
  return elements;
}

/**
 * Wording that points readers of the API at documents they do not have (the design document and
 * its seed queries, issues, project stages, README sections).
 */
const INTERNAL_REFERENCES: [RegExp, string][] = [
  [/\bdesign\b/i, "the design document"],
  [/\bseed\b/i, "the design document's seed"],
  [/\bissues?\b|#\d+/i, "an issue"],
  [/\bstage\s*\d+/i, "a project stage"],
  [/\bREADME\b/i, "the README"],
  [/§/, "a document section"],
];

/** The elements without a description, and the descriptions that cite internal documents. */
function descriptionProblems(source: string): { missing: string[]; internal: string[] } {
  const elements = schemaElements(source);
  return {
    missing: elements.filter((e) => !e.description?.trim()).map((e) => e.name),
    internal: elements.flatMap(({ name, description }) =>
      INTERNAL_REFERENCES.filter(([pattern]) => description && pattern.test(description)).map(
        ([, what]) => `${name} cites ${what}: "${description}"`,
      ),
    ),
  };
}

describe("schema.graphql descriptions", () => {
  it("describes every type, field, argument, input field and enum value", () => {
    expect(descriptionProblems(SCHEMA).missing).toEqual([]);
  });

  it("never sends the reader to the design document, issues, stages or the README", () => {
    expect(descriptionProblems(SCHEMA).internal).toEqual([]);
  });
});

describe("the description check itself", () => {
  const sample = `
    directive @internal on FIELD_DEFINITION
    "A thing."
    type Thing @node {
      "Described."
      a: ID!
      b(first: Int = 1): String @cypher(statement: "RETURN 1", columnName: "x")
    }
    enum Colour { "Red." RED GREEN }
    input ThingInput { "The id." id: ID name: String }
    "See the design document, stage 3."
    scalar Odd
  `;

  it("names each element without a description and skips directive definitions", () => {
    expect(descriptionProblems(sample).missing).toEqual([
      "Thing.b",
      "Thing.b(first:)",
      "Colour",
      "Colour.GREEN",
      "ThingInput",
      "ThingInput.name",
    ]);
  });

  it("names each description that cites an internal document", () => {
    expect(descriptionProblems(sample).internal).toEqual([
      'Odd cites the design document: "See the design document, stage 3."',
      'Odd cites a project stage: "See the design document, stage 3."',
    ]);
  });
});
