#!/usr/bin/env python3
"""Checks the launch files a colcon install put under PREFIX, without ROS.

    launch_check.py PREFIX LAUNCH_FILE...

Each launch file is loaded with stand-ins for the `launch` / `launch_ros`
modules that record what they are given, its generate_launch_description()
is called, OpaqueFunction bodies run with every LaunchConfiguration at its
declared default, and every string found in the recorded actions that names
the file system (an absolute path whose first component exists here) must
exist and lie under PREFIX: an installed launch file may not point back into
a source checkout or a build directory.
"""
import importlib.util
import os
import sys
import types

DEFAULTS = {}


class Recorded:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        if type(self).__name__ == "DeclareLaunchArgument":
            DEFAULTS[args[0]] = kwargs.get("default_value", "")


class LaunchConfiguration(Recorded):
    def perform(self, context):
        return DEFAULTS[self.args[0]]


class OpaqueFunction(Recorded):
    def run(self):
        return self.kwargs["function"](None)


class FindPackageShare(Recorded):
    pass


def stub(name, **attrs):
    mod = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(mod, key, value)
    sys.modules[name] = mod
    return mod


def recorded(name):
    return type(name, (Recorded,), {})


def install_stubs():
    names = {
        "launch": ["LaunchDescription"],
        "launch.actions": ["DeclareLaunchArgument", "ExecuteProcess", "IncludeLaunchDescription",
                           "RegisterEventHandler", "GroupAction", "SetEnvironmentVariable"],
        "launch.conditions": ["IfCondition", "UnlessCondition"],
        "launch.event_handlers": ["OnProcessExit", "OnProcessStart"],
        "launch.launch_description_sources": ["PythonLaunchDescriptionSource"],
        "launch.substitutions": ["PathJoinSubstitution", "PythonExpression", "TextSubstitution",
                                 "Command"],
        "launch_ros.actions": ["Node", "PushRosNamespace"],
        "launch_ros.substitutions": [],
    }
    stub("launch_ros")
    for module, classes in names.items():
        stub(module, **{c: recorded(c) for c in classes})
    sys.modules["launch.actions"].OpaqueFunction = OpaqueFunction
    sys.modules["launch.substitutions"].LaunchConfiguration = LaunchConfiguration
    sys.modules["launch_ros.substitutions"].FindPackageShare = FindPackageShare


def strings(value, seen):
    # Only recorded actions can repeat (event handlers name their targets);
    # they live as long as the description, so their ids stay unique.
    if isinstance(value, Recorded):
        if id(value) in seen:
            return
        seen.add(id(value))
    if isinstance(value, str):
        yield value
    elif isinstance(value, OpaqueFunction):
        yield from strings(value.run(), seen)
    elif isinstance(value, Recorded):
        yield from strings(list(value.args) + list(value.kwargs.values()), seen)
    elif isinstance(value, dict):
        yield from strings(list(value.keys()) + list(value.values()), seen)
    elif isinstance(value, (list, tuple, types.GeneratorType)) or hasattr(value, "__iter__"):
        for item in list(value):
            yield from strings(item, seen)


def names_the_file_system(s):
    if not s.startswith("/") or "\n" in s:
        return False
    first = s.split("/")[1]
    return bool(first) and os.path.exists("/" + first)


def main():
    prefix = os.path.realpath(sys.argv[1])
    install_stubs()
    failures = []
    for path in sys.argv[2:]:
        DEFAULTS.clear()
        spec = importlib.util.spec_from_file_location("launch_file", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        description = module.generate_launch_description()
        found = [s for s in strings(description, set()) if names_the_file_system(s)]
        if not found:
            failures.append(f"{path}: names no installed file at all")
        before = len(failures)
        for s in found:
            real = os.path.realpath(s)
            if not os.path.exists(real):
                failures.append(f"{path}: {s} does not exist")
            elif os.path.commonpath([prefix, real]) != prefix:
                failures.append(f"{path}: {s} is outside the install prefix {prefix}")
        if len(failures) == before:
            print(f"{os.path.basename(path)}: {len(found)} paths, all installed: "
                  + ", ".join(sorted(set(os.path.relpath(os.path.realpath(s), prefix) for s in found))))
    if failures:
        sys.exit("\n".join(sorted(set(failures))))


if __name__ == "__main__":
    main()
