"""Launch motif_controller with its params file, plus robot_state_publisher
for the URDF (so RViz can show the arm).

    ros2 launch launch/motif_controller.launch.py
    ros2 launch launch/motif_controller.launch.py params_file:=my.yaml publish_joint_states:=true

`motif_controller` is a plain cargo binary, not an ament package, so the
launch file runs it by path (set MOTIF_CONTROLLER_BIN, default
target/release/motif_controller relative to the repository root).
"""
import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.actions import ExecuteProcess
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def generate_launch_description():
    params_file = LaunchConfiguration("params_file")
    urdf_path = os.path.join(ROOT, "urdf", "arm.urdf")
    with open(urdf_path) as f:
        robot_description = f.read()
    binary = os.environ.get(
        "MOTIF_CONTROLLER_BIN", os.path.join(ROOT, "target", "release", "motif_controller"))
    return LaunchDescription([
        DeclareLaunchArgument(
            "params_file", default_value=os.path.join(ROOT, "config", "motif_controller.yaml"),
            description="ROS 2 params file for motif_controller"),
        DeclareLaunchArgument(
            "publish_joint_states", default_value="false",
            description="publish /joint_states from the commands (no robot / simulator running)"),
        DeclareLaunchArgument("library", default_value=os.path.join(ROOT, "models", "default")),
        ExecuteProcess(
            cmd=[binary, "--ros-args", "--params-file", params_file,
                 "-p", ["library:=", LaunchConfiguration("library")],
                 "-p", ["urdf:=", urdf_path],
                 "-p", ["publish_joint_states:=", LaunchConfiguration("publish_joint_states")]],
            cwd=ROOT, output="screen", sigterm_timeout="5"),
        Node(
            package="robot_state_publisher", executable="robot_state_publisher",
            parameters=[{"robot_description": robot_description}], output="screen"),
    ])
