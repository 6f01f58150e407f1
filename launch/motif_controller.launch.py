"""Launch motif_controller with its params file, plus robot_state_publisher
for the URDF (so RViz can show the arm).

    ros2 launch launch/motif_controller.launch.py
    ros2 launch launch/motif_controller.launch.py params_file:=my.yaml publish_joint_states:=true
    ros2 launch launch/motif_controller.launch.py namespace:=/left_arm   # one of several arms

The launch file runs the binary by path: MOTIF_CONTROLLER_BIN if set, else
the one a colcon build installed next to this file's share directory
(`ros2 launch motif_controller motif_controller.launch.py`), else
target/release/motif_controller relative to the repository root.
"""
import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.actions import ExecuteProcess
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_binary():
    # colcon installs share/<pkg>/launch and lib/<pkg>/<exe> under one prefix.
    installed = os.path.join(
        ROOT, os.pardir, os.pardir, "lib", "motif_controller", "motif_controller")
    if os.path.isfile(installed):
        return os.path.normpath(installed)
    return os.path.join(ROOT, "target", "release", "motif_controller")


def generate_launch_description():
    params_file = LaunchConfiguration("params_file")
    urdf_path = os.path.join(ROOT, "urdf", "arm.urdf")
    with open(urdf_path) as f:
        robot_description = f.read()
    binary = os.environ.get("MOTIF_CONTROLLER_BIN", default_binary())
    return LaunchDescription([
        DeclareLaunchArgument(
            "params_file", default_value=os.path.join(ROOT, "config", "motif_controller.yaml"),
            description="ROS 2 params file for motif_controller"),
        DeclareLaunchArgument(
            "publish_joint_states", default_value="false",
            description="publish /joint_states from the commands (no robot / simulator running)"),
        DeclareLaunchArgument("library", default_value=os.path.join(ROOT, "models", "default")),
        DeclareLaunchArgument(
            "namespace", default_value="/",
            description="ROS namespace of the controller and its topics (one per arm)"),
        ExecuteProcess(
            cmd=[binary, "--ros-args", "--params-file", params_file,
                 "-p", ["library:=", LaunchConfiguration("library")],
                 "-p", ["urdf:=", urdf_path],
                 "-p", ["publish_joint_states:=", LaunchConfiguration("publish_joint_states")],
                 # Publishing /joint_states means there is no robot to wait for.
                 "-p", ["wait_for_joint_states:=", PythonExpression([
                     "'false' if '", LaunchConfiguration("publish_joint_states"),
                     "' == 'true' else 'true'"])],
                 "-r", ["__ns:=", LaunchConfiguration("namespace")]],
            cwd=ROOT, output="screen", sigterm_timeout="5"),
        Node(
            package="robot_state_publisher", executable="robot_state_publisher",
            namespace=LaunchConfiguration("namespace"),
            parameters=[{"robot_description": robot_description}], output="screen"),
    ])
