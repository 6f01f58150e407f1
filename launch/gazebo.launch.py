"""Panda in Gazebo (gz sim) under ros2_control, driven by motif_controller.

UNTESTED HERE: no ROS 2 / Gazebo install on the development machines. See
docs/gazebo.md for what was checked and what to verify on a ROS 2 machine.

Needs ROS 2 (Jazzy) with ros_gz_sim, ros_gz_bridge, gz_ros2_control,
robot_state_publisher, controller_manager, joint_state_broadcaster and
position_controllers / joint_trajectory_controller. Files are found relative
to this launch file (the repository, or share/motif_controller of a colcon
install), and motif_controller is started as a plain process: the installed
lib/motif_controller/motif_controller, else target/release/motif_controller.

    ros2 launch launch/gazebo.launch.py
    ros2 launch launch/gazebo.launch.py controller:=trajectory gui:=false
    ros2 launch launch/gazebo.launch.py motif_controller:=false   # arm only
"""

from pathlib import Path

from launch import LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    ExecuteProcess,
    IncludeLaunchDescription,
    OpaqueFunction,
    RegisterEventHandler,
)
from launch.conditions import IfCondition
from launch.event_handlers import OnProcessExit
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

REPO = Path(__file__).resolve().parents[1]
URDF = REPO / "urdf" / "arm.ros2_control.urdf"
CONTROLLERS = REPO / "config" / "ros2_controllers.yaml"
# Written alongside the controller (another work item); referenced by path only.
MOTIF_PARAMS = REPO / "config" / "motif_controller.yaml"
# colcon installs share/<pkg>/launch and lib/<pkg>/<exe> under one prefix.
INSTALLED_BIN = REPO.parents[1] / "lib" / "motif_controller" / "motif_controller"
MOTIF_BIN = (
    INSTALLED_BIN if INSTALLED_BIN.is_file() else REPO / "target" / "release" / "motif_controller"
)

CONTROLLER_NAMES = {
    "forward": "forward_position_controller",
    "trajectory": "joint_trajectory_controller",
}


def robot_description() -> str:
    # Plain URDF has no $(find ...): put the absolute controllers path in here.
    text = URDF.read_text()
    if "__CONTROLLERS_YAML__" not in text:
        raise RuntimeError(f"{URDF}: placeholder __CONTROLLERS_YAML__ missing")
    return text.replace("__CONTROLLERS_YAML__", str(CONTROLLERS))


def launch_setup(context, *args, **kwargs):
    controller_kind = LaunchConfiguration("controller").perform(context)
    if controller_kind not in CONTROLLER_NAMES:
        raise RuntimeError(
            f"controller:={controller_kind}: expected one of {sorted(CONTROLLER_NAMES)}"
        )
    arm_controller = CONTROLLER_NAMES[controller_kind]
    description = robot_description()
    gui = LaunchConfiguration("gui").perform(context).lower() in ("true", "1")
    world = LaunchConfiguration("world").perform(context)
    gz_args = f"-r {world}" if gui else f"-r -s --headless-rendering {world}"

    gazebo = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            PathJoinSubstitution(
                [FindPackageShare("ros_gz_sim"), "launch", "gz_sim.launch.py"]
            )
        ),
        launch_arguments={"gz_args": gz_args, "on_exit_shutdown": "true"}.items(),
    )

    robot_state_publisher = Node(
        package="robot_state_publisher",
        executable="robot_state_publisher",
        output="screen",
        parameters=[{"robot_description": description, "use_sim_time": True}],
    )

    spawn = Node(
        package="ros_gz_sim",
        executable="create",
        output="screen",
        arguments=["-topic", "robot_description", "-name", "panda", "-z", "0.0"],
    )

    clock_bridge = Node(
        package="ros_gz_bridge",
        executable="parameter_bridge",
        output="screen",
        arguments=["/clock@rosgraph_msgs/msg/Clock[gz.msgs.Clock"],
    )

    joint_state_broadcaster = Node(
        package="controller_manager",
        executable="spawner",
        output="screen",
        arguments=["joint_state_broadcaster", "--controller-manager", "/controller_manager"],
    )

    arm_spawner = Node(
        package="controller_manager",
        executable="spawner",
        output="screen",
        arguments=[arm_controller, "--controller-manager", "/controller_manager"],
    )

    # motif_controller publishes /forward_position_controller/commands by default;
    # with the trajectory controller it must stream JointTrajectory instead, which
    # is a parameter of its params file (see docs/gazebo.md).
    motif_cmd = [
        LaunchConfiguration("motif_controller_bin").perform(context),
        "--ros-args",
        "--params-file",
        LaunchConfiguration("motif_params").perform(context),
        "-p",
        "use_sim_time:=true",
    ]
    motif_controller = ExecuteProcess(
        cmd=motif_cmd,
        cwd=str(REPO),
        output="screen",
        condition=IfCondition(LaunchConfiguration("motif_controller")),
    )

    return [
        gazebo,
        robot_state_publisher,
        clock_bridge,
        spawn,
        # Controllers need the hardware, which exists once the entity is spawned;
        # the arm controller needs /joint_states from the broadcaster first.
        RegisterEventHandler(
            OnProcessExit(target_action=spawn, on_exit=[joint_state_broadcaster])
        ),
        RegisterEventHandler(
            OnProcessExit(
                target_action=joint_state_broadcaster,
                on_exit=[arm_spawner, motif_controller],
            )
        ),
    ]


def generate_launch_description():
    return LaunchDescription(
        [
            DeclareLaunchArgument("gui", default_value="true"),
            DeclareLaunchArgument("world", default_value="empty.sdf"),
            DeclareLaunchArgument(
                "controller",
                default_value="forward",
                description="forward (JointGroupPositionController) or trajectory",
            ),
            DeclareLaunchArgument("motif_controller", default_value="true"),
            DeclareLaunchArgument("motif_params", default_value=str(MOTIF_PARAMS)),
            DeclareLaunchArgument("motif_controller_bin", default_value=str(MOTIF_BIN)),
            OpaqueFunction(function=launch_setup),
        ]
    )
