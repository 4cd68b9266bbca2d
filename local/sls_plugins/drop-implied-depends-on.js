'use strict';

// osls gives each httpApi route a `DependsOn` on its integration although the route already names
// the integration in `Target`. CloudFormation orders them from the reference alone, so the entry
// changes nothing on AWS, but cfn-lint reports it (W3005), and both our template checks and moto's
// CloudFormation reject a template with any finding. This drops every `DependsOn` entry that a Ref,
// Fn::GetAtt or Fn::Sub in the same resource already implies, and keeps all the others.

function referencedIds(value, found = new Set()) {
  if (Array.isArray(value)) {
    value.forEach((item) => referencedIds(item, found));
  } else if (value && typeof value === 'object') {
    for (const [key, argument] of Object.entries(value)) {
      if (key === 'Ref' && typeof argument === 'string') {
        found.add(argument);
      } else if (key === 'Fn::GetAtt') {
        found.add(Array.isArray(argument) ? argument[0] : String(argument).split('.')[0]);
      } else if (key === 'Fn::Sub') {
        const text = Array.isArray(argument) ? argument[0] : argument;
        for (const match of String(text).matchAll(/\$\{([^}!.]+)[^}]*\}/g)) found.add(match[1]);
        if (Array.isArray(argument)) referencedIds(argument[1], found);
      } else {
        referencedIds(argument, found);
      }
    }
  }
  return found;
}

function dropImpliedDependsOn(template) {
  const dropped = [];
  for (const [logicalId, resource] of Object.entries(template.Resources || {})) {
    if (!resource.DependsOn) continue;
    const dependsOn = [].concat(resource.DependsOn);
    const { DependsOn, ...rest } = resource;
    const implied = referencedIds(rest);
    const kept = dependsOn.filter((id) => !implied.has(id));
    dependsOn.filter((id) => implied.has(id)).forEach((id) => dropped.push(`${logicalId} -> ${id}`));
    if (kept.length === 0) delete resource.DependsOn;
    else resource.DependsOn = kept.length === 1 ? kept[0] : kept;
  }
  return dropped;
}

class DropImpliedDependsOn {
  constructor(serverless, options, { log } = {}) {
    this.serverless = serverless;
    this.log = log;
    this.hooks = {
      // After custom resources are merged in, before the template is written.
      'before:aws:package:finalize:saveServiceState': () => this.run(),
    };
  }

  run() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const dropped = dropImpliedDependsOn(template);
    if (dropped.length && this.log) this.log.verbose(`Dropped implied DependsOn: ${dropped.join(', ')}`);
  }
}

module.exports = DropImpliedDependsOn;
module.exports.dropImpliedDependsOn = dropImpliedDependsOn;
